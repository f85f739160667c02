/// A `multipart/form-data` body read as Go's `mime/multipart` reads it, for the one endpoint whose
/// clients send one (`/v1/audio/transcriptions`): TensorWall needs its `model` field to place the
/// request, and sends the body on to the node with only that field changed, so each part keeps its
/// bytes and where they lie in the body.
public struct MultipartForm: Sendable {
    public struct Part: Sendable {
        /// The `name` of its `Content-Disposition: form-data` header ("" when it has none).
        public var name: String
        /// The `filename`, for a part that carries a file.
        public var filename: String?
        /// Where the part's content lies in the body.
        public var content: Range<Int>
    }

    public let parts: [Part]
    /// "--" and the boundary: what starts each delimiter line.
    private let dashBoundary: [UInt8]

    /// Why a body could not be read, in Go's words where a client may see them.
    public struct Failure: Error, Equatable, Sendable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    /// The boundary of a `multipart/form-data` Content-Type; Go's errors for another type or none.
    public static func boundary(contentType: String?) throws(Failure) -> String {
        guard let contentType else { throw Failure("request Content-Type isn't multipart/form-data") }
        let pieces = contentType.split(separator: ";", omittingEmptySubsequences: false)
        guard pieces[0].trimmingSpacesAndTabs().lowercased() == "multipart/form-data" else {
            throw Failure("request Content-Type isn't multipart/form-data")
        }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpacesAndTabs().lowercased() == "boundary" else { continue }
            var value = String(pair[1].trimmingSpacesAndTabs())
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            if !value.isEmpty { return value }
        }
        throw Failure("no multipart boundary param in Content-Type")
    }

    /// Reads the parts of `body`, delimited by `boundary`. Lines may end in CRLF or LF alone.
    public init(_ body: [UInt8], boundary: String) throws(Failure) {
        let dashBoundary = Array(("--" + boundary).utf8)
        guard var cursor = Self.firstDelimiter(dashBoundary, in: body) else { throw Failure("multipart: NextPart: EOF") }
        var parts: [Part] = []
        while true {
            cursor += dashBoundary.count
            if body[cursor...].starts(with: [45, 45]) { break }  // "--": the closing delimiter
            // Transport padding, then the delimiter line's end.
            while cursor < body.count && (body[cursor] == 32 || body[cursor] == 9) { cursor += 1 }
            guard let headersStart = Self.afterLineEnd(body, cursor) else {
                throw Failure("multipart: NextPart: bufio: buffer full")
            }
            var headers: [(name: String, value: String)] = []
            var line = headersStart
            while true {
                guard let end = Self.lineEnd(body, from: line) else { throw Failure("multipart: NextPart: EOF") }
                let text = String(decoding: body[line..<end.contentEnd], as: UTF8.self)
                line = end.next
                if text.isEmpty { break }
                guard let colon = text.firstIndex(of: ":") else { throw Failure("malformed MIME header line: \(text)") }
                headers.append(
                    (text[..<colon].trimmingSpacesAndTabs().lowercased(), String(text[text.index(after: colon)...].trimmingSpacesAndTabs()))
                )
            }
            guard let next = Self.nextDelimiter(dashBoundary, in: body, from: line) else { throw Failure("multipart: NextPart: EOF") }
            let disposition = headers.first { $0.name == "content-disposition" }.map { Self.parameters($0.value) } ?? [:]
            parts.append(Part(name: disposition["name"] ?? "", filename: disposition["filename"], content: line..<next.contentEnd))
            cursor = next.delimiter
        }
        self.parts = parts
        self.dashBoundary = dashBoundary
    }

    /// The first part named `name`.
    public func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// The text of the first field named `name` ("" when there is none, as Go's `FormValue`).
    public func value(_ name: String, in body: [UInt8]) -> String {
        guard let part = part(named: name), part.filename == nil else { return "" }
        return String(decoding: body[part.content], as: UTF8.self)
    }

    /// `body` with the content of the first field named `name` replaced by `value`.
    public func replacing(_ name: String, with value: String, in body: [UInt8]) -> [UInt8] {
        guard let part = part(named: name) else { return body }
        var out = Array(body[..<part.content.lowerBound])
        out.append(contentsOf: value.utf8)
        // An empty field whose delimiter follows its headers' blank line at once has no line break
        // of its own before the delimiter; a value needs one.
        if part.content.isEmpty && !value.isEmpty && body[part.content.upperBound...].starts(with: dashBoundary) {
            out.append(contentsOf: [13, 10])
        }
        out.append(contentsOf: body[part.content.upperBound...])
        return out
    }

    /// The delimiter at the very start of the body or at the start of a line.
    static func firstDelimiter(_ dashBoundary: [UInt8], in body: [UInt8]) -> Int? {
        var from = 0
        while let found = find(dashBoundary, in: body, from: from) {
            if found == 0 || body[found - 1] == 10 { return found }
            from = found + 1
        }
        return nil
    }

    /// The next delimiter at the start of a line from `from`, and where the content before it ends
    /// (the line break before a delimiter belongs to the delimiter).
    static func nextDelimiter(_ dashBoundary: [UInt8], in body: [UInt8], from: Int) -> (delimiter: Int, contentEnd: Int)? {
        var search = from
        while let found = find(dashBoundary, in: body, from: search) {
            if found > from && body[found - 1] == 10 {
                let contentEnd = found >= from + 2 && body[found - 2] == 13 ? found - 2 : found - 1
                return (found, contentEnd)
            }
            if found == from && found > 0 && body[found - 1] == 10 { return (found, found) }
            search = found + 1
        }
        return nil
    }

    /// Where the line that starts at `from` ends (before CRLF or LF) and the next begins.
    static func lineEnd(_ body: [UInt8], from: Int) -> (contentEnd: Int, next: Int)? {
        guard let newline = body[from...].firstIndex(of: 10) else { return nil }
        let contentEnd = newline > from && body[newline - 1] == 13 ? newline - 1 : newline
        return (contentEnd, newline + 1)
    }

    /// Just past the line break at `at` (CRLF or LF), or nil when none is there.
    static func afterLineEnd(_ body: [UInt8], _ at: Int) -> Int? {
        if body[at...].starts(with: [13, 10]) { return at + 2 }
        if body[at...].starts(with: [10]) { return at + 1 }
        return nil
    }

    static func find(_ needle: [UInt8], in body: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, body.count - from >= needle.count else { return nil }
        var index = from
        let last = body.count - needle.count
        while index <= last {
            guard let candidate = body[index...last].firstIndex(of: first) else { return nil }
            if body[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// The parameters of a header value such as `form-data; name="file"; filename="a.wav"`, names
    /// lowercased, quoted values unquoted (a backslash escapes the next character).
    static func parameters(_ value: String) -> [String: String] {
        var result: [String: String] = [:]
        var rest = Substring(value)
        // The disposition type itself.
        guard let semicolon = rest.firstIndex(of: ";") else { return result }
        rest = rest[rest.index(after: semicolon)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingSpacesAndTabs().lowercased()
            rest = rest[rest.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            var text = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        text.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        text.append(character)
                    }
                }
                rest = rest.drop { $0 != ";" }
            } else {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                text = String(rest[..<end].trimmingSpacesAndTabs())
                rest = rest[end...]
            }
            if rest.first == ";" { rest = rest.dropFirst() }
            if result[name] == nil { result[name] = text }
        }
        return result
    }
}
