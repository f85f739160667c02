import Testing

@testable import HTTP1
@testable import Proxy

/// Clients that speak HTTP/1.0 to TensorWall: nginx's `proxy_pass` does unless told
/// `proxy_http_version 1.1`, as do ApacheBench and scripts on plain sockets. They read no chunked
/// coding, so a stream reaches them as its events alone, ended by the close, as Ollama's Go server
/// sends it to them.
@Suite(.stopsFarms) struct HTTP10ClientWireTests {
    /// Everything the server sends for `request`, until it closes the connection.
    func exchange(_ farm: TestFarm, _ request: String) async throws -> (head: String, body: String) {
        let raw = try await HTTPClientConnection.open(host: "127.0.0.1", port: farm.port, poolKey: "raw", deadline: .now + .seconds(5))
        defer { raw.socket.close() }
        try await raw.socket.write(Array(request.utf8), until: .now + .seconds(5))
        while try await raw.socket.read(into: raw.buffer, until: .now + .seconds(30)) > 0 {}
        let all = String(decoding: raw.buffer.readable, as: UTF8.self)
        let split = try #require(all.range(of: "\r\n\r\n"), "\(all)")
        return (String(all[..<split.lowerBound]), String(all[split.upperBound...]))
    }

    func post(_ path: String, _ body: String) -> String {
        "POST \(path) HTTP/1.0\r\nX-API-Key: \(TestFarm.key)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test func anOpenAIStreamReachesAnHTTP10ClientAsEventsEndedByTheClose() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await exchange(
            farm, post("/v1/chat/completions", #"{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"stream":true}"#))
        #expect(answer.head.hasPrefix("HTTP/1.1 200 OK"), "\(answer.head)")
        #expect(!answer.head.lowercased().contains("transfer-encoding"))
        #expect(answer.head.contains("Content-Type: text/event-stream"))
        // Each event is a `data:` line and a blank line, nothing between: no chunk sizes.
        let events = answer.body.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.count > 2)
        #expect(events.allSatisfy { $0.hasPrefix("data: ") }, "\(answer.body)")
        #expect(events.last == "data: [DONE]")
    }

    @Test func aNativeStreamReachesAnHTTP10ClientAsLinesEndedByTheClose() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await exchange(farm, post("/api/chat", #"{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}]}"#))
        #expect(answer.head.hasPrefix("HTTP/1.1 200 OK"), "\(answer.head)")
        #expect(!answer.head.lowercased().contains("transfer-encoding"))
        let lines = answer.body.split(separator: "\n")
        #expect(lines.count > 2)
        #expect(lines.allSatisfy { $0.hasPrefix("{") }, "\(answer.body)")
        #expect(lines.last?.contains(#""done":true"#) == true)
    }
}
