import OllamaSimulator
import Testing

@testable import HTTP1
@testable import Proxy

/// A client that has its whole answer may close before the stream's body ends: the `openai` Python
/// package closes its connection at `data: [DONE]`, and the node writes the end of a chunked body
/// only after its last value. Such a request was served: it is logged, counted and learnt from as
/// a 200, not as a client that left (499).
@Suite(.stopsFarms) struct AnswerDeliveredWireTests {
    /// Sends `body` to `path` as a stream, reads until `marker` has arrived, and closes the connection.
    func readUntil(_ marker: String, _ farm: TestFarm, _ path: String, _ body: String) async throws -> String {
        let raw = try await HTTPClientConnection.open(host: "127.0.0.1", port: farm.port, poolKey: "raw", deadline: .now + .seconds(5))
        let request =
            "POST \(path) HTTP/1.1\r\nHost: tensorwall\r\nX-API-Key: \(TestFarm.key)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try await raw.socket.write(Array(request.utf8), until: .now + .seconds(5))
        var seen = ""
        while !seen.contains(marker) {
            guard try await raw.socket.read(into: raw.buffer, until: .now + .seconds(30)) > 0 else { break }
            seen = String(decoding: raw.buffer.readable, as: UTF8.self)
        }
        raw.socket.close()
        return seen
    }

    func servedAfterTheClientClosed(path: String, body: String, marker: String) async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], logs: logs)
        try await farm.waitUntilAllHealthy()
        try await servedAfterTheClientClosed(farm, logs, answeredBy: farm.nodes[0], as: "node0", path: path, body: body, marker: marker)
    }

    func servedAfterTheClientClosed(
        _ farm: TestFarm, _ logs: LogCapture, answeredBy server: OllamaSimulator, as name: String, path: String, body: String,
        marker: String
    ) async throws {
        server.holdStreamEnds(true)
        let seen = try await readUntil(marker, farm, path, body)
        #expect(seen.contains(marker), "\(seen)")
        // TensorWall sees the client go while the node's body is still open.
        try await Task.sleep(for: .milliseconds(300))
        server.holdStreamEnds(false)
        #expect(await farm.eventually { logs.text.contains("info request ") }, "\(logs.text)")
        #expect(logs.text.contains("node=\(name) status=200 stream=true"), "\(logs.text)")
        #expect(logs.text.contains("completion_tokens=8"), "\(logs.text)")
        #expect(!logs.text.contains("status=499"), "\(logs.text)")
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(metrics.contains(#"status="200""#), "\(metrics)")
        #expect(!metrics.contains(#"status="499""#), "\(metrics)")
    }

    @Test func anOpenAIClientThatClosesAtDoneWasServed() async throws {
        try await servedAfterTheClientClosed(
            path: "/v1/chat/completions",
            body: #"{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"stream":true}"#, marker: "data: [DONE]")
    }

    @Test func aResponsesClientThatClosesAtItsCompletedEventWasServed() async throws {
        try await servedAfterTheClientClosed(
            path: "/v1/responses", body: #"{"model":"llama3.2","input":"Hi","stream":true}"#, marker: "event: response.completed")
    }

    @Test func aClientThatClosesAtTheCloudsDoneWasServed() async throws {
        let logs = LogCapture()
        let cloud = try await SimulatedCloud.start()
        let farm = try await cloud.farm(cloudOnly: "smart", key: "sk-test", logs: logs)
        try await servedAfterTheClientClosed(
            farm, logs, answeredBy: cloud.simulator, as: "cloud:openai", path: "/v1/chat/completions",
            body: #"{"model":"smart","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}"#,
            marker: "data: [DONE]")
    }

    @Test func aClientThatLeavesACloudStreamMidWayLeftIt() async throws {
        let logs = LogCapture()
        let cloud = try await SimulatedCloud.start()
        let farm = try await cloud.farm(cloudOnly: "smart", key: "sk-test", logs: logs)
        cloud.simulator.holdStreams(true)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"Hi"}],"stream":true}"#
        let seen = try await readUntil("\n\n", farm, "/v1/chat/completions", body)
        #expect(seen.contains("data: "), "\(seen)")
        try await Task.sleep(for: .milliseconds(300))
        cloud.simulator.holdStreams(false)
        #expect(await farm.eventually { logs.text.contains("info request ") }, "\(logs.text)")
        #expect(logs.text.contains("node=cloud:openai status=499 stream=true"), "\(logs.text)")
        #expect(!logs.text.contains("cut_mid_stream"), "\(logs.text)")
    }

    @Test func anOllamaClientThatClosesAtItsLastLineWasServed() async throws {
        try await servedAfterTheClientClosed(
            path: "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}]}"#, marker: #""done":true"#)
    }
}
