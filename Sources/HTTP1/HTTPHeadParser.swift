/// Parses a message head (start line and header fields) strictly: CRLF only, no folding,
/// no whitespace before the colon, no control bytes in values. Strictness here is what stops
/// request smuggling between TensorWall and whatever sits in front of it.
enum HTTPHeadParser {
    struct Head {
        var startLine: [Substring]
        var headers: HTTPHeaders
    }

    /// `bytes` is the head without its final empty line (i.e. up to, not including, the last CRLF CRLF).
    static func parse(_ bytes: UnsafeRawBufferPointer, startLineParts: Int) throws(HTTPParseError) -> Head {
        for byte in bytes where byte == 0 {
            throw .malformed("NUL byte in header")
        }
        // obs-text (non-UTF-8 bytes) in values is tolerated and replaced, never interpreted.
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard !lines.isEmpty else { throw .malformed("empty request") }
        let startLine = lines.removeFirst()
        if startLine.contains("\n") || startLine.contains("\r") { throw .malformed("bare LF in start line") }
        let parts = startLine.split(separator: " ", maxSplits: startLineParts - 1, omittingEmptySubsequences: false)
        guard parts.count == startLineParts || (startLineParts == 3 && parts.count == 2 && parts[0].hasPrefix("HTTP/"))
        else {
            throw .malformed("malformed start line")
        }
        var headers = HTTPHeaders()
        for line in lines {
            if line.contains("\n") || line.contains("\r") { throw .malformed("bare CR or LF in header") }
            guard let first = line.first else { throw .malformed("empty header line") }
            if first == " " || first == "\t" { throw .malformed("obsolete header folding") }
            guard let colon = line.firstIndex(of: ":") else { throw .malformed("header without colon") }
            let name = line[..<colon]
            guard !name.isEmpty, name.utf8.allSatisfy(isTokenByte) else { throw .malformed("invalid header name") }
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if value.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
                throw .malformed("control character in header value")
            }
            headers.add(String(name), String(value))
        }
        return Head(startLine: parts, headers: headers)
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// How a message body is delimited, decided from the head per RFC 9112 §6.
enum BodyFraming: Equatable {
    case none
    case contentLength(Int)
    case chunked
    case untilClose

    /// Framing of a request body; conflicting or invalid framing is refused, never guessed.
    static func forRequest(_ headers: HTTPHeaders) throws(HTTPParseError) -> BodyFraming {
        let encodings = headers.values("Transfer-Encoding")
        let lengths = headers.values("Content-Length")
        if !encodings.isEmpty {
            if !lengths.isEmpty { throw .malformed("both Content-Length and Transfer-Encoding") }
            guard encodings.count == 1, encodings[0].trimmingSpaces().caseInsensitiveEquals("chunked") else {
                throw .unsupportedTransferEncoding
            }
            return .chunked
        }
        guard !lengths.isEmpty else { return .none }
        guard lengths.count == 1 else { throw .malformed("duplicate Content-Length") }
        let length = try parseContentLength(lengths[0])
        return length == 0 ? .none : .contentLength(length)
    }

    /// Framing of a response body to a request with `method`.
    static func forResponse(status: Int, method: String, headers: HTTPHeaders) throws(HTTPParseError) -> BodyFraming {
        if method == "HEAD" || status / 100 == 1 || status == 204 || status == 304 { return .none }
        if let encoding = headers["Transfer-Encoding"] {
            return encoding.lowercased().hasSuffix("chunked") ? .chunked : .untilClose
        }
        let lengths = headers.values("Content-Length")
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }) else { throw .malformed("conflicting Content-Length") }
            return .contentLength(try parseContentLength(first))
        }
        return .untilClose
    }

    static func parseContentLength(_ value: String) throws(HTTPParseError) -> Int {
        guard !value.isEmpty, value.utf8.count <= 18, value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(value)
        else {
            throw .malformed("invalid Content-Length")
        }
        return length
    }
}
