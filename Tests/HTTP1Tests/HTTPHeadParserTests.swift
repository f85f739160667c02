import Testing

@testable import HTTP1

/// The start lines, checked by the parser itself (and so by the fuzzer), without a socket.
@Suite struct HTTPHeadParserTests {
    private func head(_ text: String) throws -> HTTPHeadParser.Head {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try HTTPHeadParser.parse($0, startLineParts: 3) }
    }

    @Test func aWellFormedRequestLine() throws {
        let request = try HTTPHeadParser.request(head("POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nX-API-Key: k"))
        #expect(request.method == "POST")
        #expect(request.target == "/v1/chat/completions?x=1")
        #expect(request.versionMinor == 1)
        #expect(request.headers["x-api-key"] == "k")
        #expect(try HTTPHeadParser.request(head("GET * HTTP/1.0")).versionMinor == 0)  // 1.0 needs no Host
    }

    @Test(arguments: [
        ("GET http://tensorwall:8000/v1/models?x=1 HTTP/1.1\r\nHost: other", "/v1/models?x=1", "tensorwall:8000"),
        ("GET HTTPS://gw.example HTTP/1.1\r\nHost: gw.example", "/", "gw.example"),
        ("GET http://gw?x=1 HTTP/1.1\r\nHost: gw", "/?x=1", "gw"),
    ])
    func theAbsoluteFormIsReadAsItsPathAndHost(text: String, target: String, host: String) throws {
        let request = try HTTPHeadParser.request(head(text))
        #expect(request.target == target)
        #expect(request.headers["Host"] == host)
        #expect(request.headers.values("Host").count == 1)
    }

    @Test(arguments: [
        "GET /x HTTP/1.1",  // no Host
        "GET http://a/x HTTP/1.1",  // no Host, even with the host in the target (as Go)
        "GET /x HTTP/1.1\r\nHost: a\r\nHost: b",
        "G(T /x HTTP/1.1\r\nHost: a",
        " /x HTTP/1.1\r\nHost: a",
        "GET x HTTP/1.1\r\nHost: a",
        "GET http:///x HTTP/1.1\r\nHost: a",  // absolute form without a host
        "GET http://user@a/x HTTP/1.1\r\nHost: a",  // user info is no part of a request target
        "GET ftp://a/x HTTP/1.1\r\nHost: a",
        "GET /x HTTP/2.0\r\nHost: a",
        "GET /x\u{7F} HTTP/1.1\r\nHost: a",
    ])
    func refusedRequestLines(text: String) {
        #expect(throws: HTTPParseError.self) { try HTTPHeadParser.request(head(text)) }
    }

    @Test func statusLinesWithAndWithoutAReason() throws {
        let ok = try HTTPHeadParser.response(head("HTTP/1.1 200 OK\r\nContent-Length: 2"))
        #expect(ok.status == 200)
        #expect(ok.versionMinor == 1)
        #expect(try HTTPHeadParser.response(head("HTTP/1.0 503")).versionMinor == 0)
        #expect(try HTTPHeadParser.response(head("HTTP/1.1 404 Not Found Here")).status == 404)
    }

    @Test(arguments: ["HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 0200 OK", "HTTP/1.1 abc OK", "ICY 200 OK", "HTTP/1.1 099 x"])
    func refusedStatusLines(text: String) {
        #expect(throws: HTTPParseError.self) { try HTTPHeadParser.response(head(text)) }
    }
}
