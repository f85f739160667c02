import WireFormats

/// Parses a message head (start line and header fields) strictly: CRLF only, no folding,
/// no whitespace before the colon, no control bytes in values. Strictness here is what stops
/// request smuggling between TensorWall and whatever sits in front of it.
///
/// Works on bytes, not `String`: splitting a `String` on "\r\n" walks grapheme clusters and was
/// an eighth of the proxy's CPU time in the request profile.
enum HTTPHeadParser {
    struct Head {
        var startLine: [Substring]
        var headers: HTTPHeaders
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")

    /// `bytes` is the head without its final empty line (i.e. up to, not including, the last CRLF CRLF).
    static func parse(_ bytes: UnsafeRawBufferPointer, startLineParts: Int) throws(HTTPParseError) -> Head {
        if bytes.contains(0) { throw .malformed("NUL byte in header") }
        let startLineEnd = try lineEnd(in: bytes, from: 0, bareError: "bare LF in start line")
        // obs-text (non-UTF-8 bytes) is tolerated and replaced, never interpreted.
        let startLine = Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<startLineEnd]), as: UTF8.self))
        let parts = startLine.utf8.split(separator: space, maxSplits: startLineParts - 1, omittingEmptySubsequences: false)
            .map { Substring($0) }
        guard parts.count == startLineParts || (startLineParts == 3 && parts.count == 2 && parts[0].hasPrefix("HTTP/"))
        else {
            throw .malformed("malformed start line")
        }
        var headers = HTTPHeaders()
        var lineStart = startLineEnd + 2
        while lineStart <= bytes.count {
            let end = try lineEnd(in: bytes, from: lineStart, bareError: "bare CR or LF in header")
            try headers.addField(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<end]))
            lineStart = end + 2
        }
        return Head(startLine: parts, headers: headers)
    }

    /// A request's start line checked: a token for the method, an origin-form target (or `*`)
    /// without spaces or control bytes, HTTP/1.0 or 1.1, and exactly one `Host` in 1.1.
    struct RequestHead {
        var method: String
        var target: String
        var versionMinor: Int
        var headers: HTTPHeaders
    }

    static func request(_ head: Head) throws(HTTPParseError) -> RequestHead {
        guard head.startLine.count == 3 else { throw .malformed("malformed request line") }
        let method = String(head.startLine[0])
        var target = String(head.startLine[1])
        var headers = head.headers
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else { throw .malformed("invalid method") }
        guard !target.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { throw .malformed("invalid request target") }
        // RFC 9112 3.2.2: a server accepts the absolute form (a client set up with the server as its
        // proxy sends it; Go's server, so Ollama, accepts it) and takes the host from it. The usual
        // origin form ("/...") is not looked at twice.
        if !target.hasPrefix("/"), let (authority, originForm) = absoluteForm(target) {
            target = originForm
            if headers.contains("Host") { headers.replace("Host", authority) }
        }
        guard target.hasPrefix("/") || target == "*" else { throw .malformed("invalid request target") }
        let minor: Int
        switch head.startLine[2] {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default: throw .malformed("unsupported HTTP version")
        }
        if minor == 1, head.headers.values("Host").count != 1 { throw .malformed("missing or duplicate Host header") }
        // RFC 9112 §6.1: an HTTP/1.0 client knows no transfer coding, so one named is faulty framing
        // (a proxy in front that read it otherwise would frame the body apart from us).
        if minor == 0, head.headers.contains("Transfer-Encoding") { throw .malformed("Transfer-Encoding in an HTTP/1.0 request") }
        return RequestHead(method: method, target: target, versionMinor: minor, headers: headers)
    }

    /// `http://host[:port]/path?query` split into its authority and origin form (`/` when it has no
    /// path), or nil when the target is not in absolute form or names no host.
    static func absoluteForm(_ target: String) -> (authority: String, originForm: String)? {
        let lowered = target.prefix(8).lowercased()
        let schemeLength = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
        guard schemeLength > 0 else { return nil }
        let rest = target.dropFirst(schemeLength)
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<pathStart]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let path = rest[pathStart...]
        return (String(authority), path.hasPrefix("/") ? String(path) : "/" + path)
    }

    /// A response's status line checked: `HTTP/1.x`, a three-digit status, any reason (or none).
    struct ResponseHead {
        var status: Int
        var versionMinor: Int
        var headers: HTTPHeaders
    }

    static func response(_ head: Head) throws(HTTPParseError) -> ResponseHead {
        guard head.startLine.count >= 2, head.startLine[0].hasPrefix("HTTP/1."), head.startLine[1].utf8.count == 3,
            let status = Int(head.startLine[1]), (100...999).contains(status)
        else { throw .malformed("malformed status line") }
        return ResponseHead(status: status, versionMinor: head.startLine[0] == "HTTP/1.1" ? 1 : 0, headers: head.headers)
    }

    /// The offset of the CRLF ending the line that starts at `start` (or the end of the head);
    /// a CR or LF on its own inside the line is refused.
    private static func lineEnd(in bytes: UnsafeRawBufferPointer, from start: Int, bareError: String) throws(HTTPParseError) -> Int {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == cr, index + 1 < bytes.count, bytes[index + 1] == lf { return index }
            if byte == cr || byte == lf { throw .malformed(bareError) }
            index += 1
        }
        return bytes.count
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        tokenBytes[Int(byte)]
    }

    /// RFC 9110 `tchar`, as a table: header names are checked byte by byte on every request.
    private static let tokenBytes: [Bool] = (0..<256).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    fileprivate static func isSpaceOrTab(_ byte: UInt8) -> Bool { byte == space || byte == tab }
}

extension HTTPHeaders {
    /// Adds one `name: value` line of a head, refusing what RFC 9112 forbids.
    fileprivate mutating func addField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        guard let first = line.first else { throw .malformed("empty header line") }
        if HTTPHeadParser.isSpaceOrTab(first) { throw .malformed("obsolete header folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("header without colon") }
        guard colon > 0, line[..<colon].allSatisfy(HTTPHeadParser.isTokenByte) else { throw .malformed("invalid header name") }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, HTTPHeadParser.isSpaceOrTab(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, HTTPHeadParser.isSpaceOrTab(line[valueEnd - 1]) { valueEnd -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd])
        if value.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7F }) {
            throw .malformed("control character in header value")
        }
        add(
            String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self),
            String(decoding: value, as: UTF8.self))
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
            guard encodings.count == 1, encodings[0].trimmingSpacesAndTabs().caseInsensitiveEquals("chunked") else {
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
