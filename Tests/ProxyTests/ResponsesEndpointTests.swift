import HTTP1
import Testing
import WireFormats

/// `POST /v1/responses`, the OpenAI Responses API that Ollama translates itself: placed like any
/// request for its model and answered with the node's own bytes, a stream's events as they come.
@Suite(.stopsFarms) struct ResponsesEndpointTests {
    @Test func aWholeResponseIsTheNodesOwnAnswer() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json(
            "POST", "/v1/responses", body: #"{"model":"ollama/llama3.2","input":"Say hi","max_output_tokens":3}"#)
        #expect(answer.status == 200)
        #expect(answer.body["object"] == "response")
        #expect(answer.body["status"] == "completed")
        #expect(answer.body["output"]?[0]?["content"]?[0]?["text"]?.stringValue?.isEmpty == false)
        let sent = try #require(farm.nodes[0].lastAnswerBody("/v1/responses"))
        #expect(sent["input"] == "Say hi")
        #expect(sent["max_output_tokens"] == 3)
        // The node echoes the name it is sent: the client's, less the prefix, as Ollama would echo it.
        #expect(sent["model"] == "llama3.2")
        #expect(answer.body["model"] == "llama3.2")
    }

    @Test func aStreamIsTheNodesEventsUntouched() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let streamed = try await farm.text("POST", "/v1/responses", body: #"{"model":"llama3.2","input":"Say hi","stream":true}"#)
        #expect(streamed.status == 200)
        #expect(streamed.headers["Content-Type"] == "text/event-stream")
        let types = streamed.body.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(types.first == "response.created")
        #expect(types.contains("response.output_text.delta"))
        #expect(types.last == "response.completed")
    }

    @Test func aStreamCutMidWayEndsWithTheResponsesAPIsErrorEvent() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.dropMidStream)
        let streamed = try await farm.text("POST", "/v1/responses", body: #"{"model":"llama3.2","input":"Say hi","stream":true}"#)
        #expect(streamed.status == 200)
        #expect(!streamed.body.contains("response.completed"))
        let last = try #require(streamed.body.split(separator: "\n").last(where: { $0.hasPrefix("data: ") }))
        let event = try JSONParser.parse(Array(last.dropFirst(6).utf8))
        #expect(event["type"] == "error")
        #expect(event["message"]?.stringValue?.contains("mid-stream") == true)
    }

    /// Turn 2 repeats turn 1's string input as items (its answer among them, its text in parts):
    /// it goes back to the node that answered turn 1 and holds its prompt cache.
    @Test func aConversationsNextTurnGoesToTheNodeThatServedItsLastTurn() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"], maxParallel: 4)
        let farm = try await TestFarm.start([warm, warm, warm])
        try await farm.waitUntilAllHealthy()
        for conversation in 0..<6 {
            let instructions = "You are assistant number \(conversation)."
            let before = farm.nodes.map { $0.answeredCount("/v1/responses") }
            let first = try await farm.json(
                "POST", "/v1/responses", body: #"{"model":"llama3.2","instructions":"\#(instructions)","input":"Hello"}"#)
            let served = try #require(farm.nodes.indices.first { farm.nodes[$0].answeredCount("/v1/responses") > before[$0] })
            let reply = try #require(first.body["output"]?[0]?["content"]?[0]?["text"]?.stringValue)
            let turn2 = #"""
                {"model":"llama3.2","instructions":"\#(instructions)","input":[
                {"role":"user","content":[{"type":"input_text","text":"Hello"}]},
                {"type":"message","role":"assistant","content":[{"type":"output_text","text":"\#(reply)"}]},
                {"role":"user","content":"And then?"}]}
                """#
            let beforeSecond = farm.nodes.map { $0.answeredCount("/v1/responses") }
            #expect(try await farm.json("POST", "/v1/responses", body: turn2).status == 200)
            #expect(farm.nodes[served].answeredCount("/v1/responses") == beforeSecond[served] + 1, "conversation \(conversation)")
        }
    }

    @Test func badRequestsGetOpenAIErrors() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        for (body, status, param) in [
            (#"{"input":"x"}"#, 400, "model"),
            (#"{"model":"llama3.2","input":"x","stream":"yes"}"#, 400, "stream"),
            (#"{"model":"no-such-model","input":"x"}"#, 404, "model"),
        ] {
            let refused = try await farm.json("POST", "/v1/responses", body: body)
            #expect(refused.status == status, "\(body)")
            #expect(refused.body["error"]?["param"]?.stringValue == param, "\(body)")
        }
        #expect(farm.nodes[0].answeredCount("/v1/responses") == 0)
    }
}

/// Bodies sent compressed with zstd, as OpenAI's Codex sends them to Ollama.
@Suite(.stopsFarms) struct CompressedRequestBodyTests {
    static let headers: HTTPHeaders = ["X-API-Key": TestFarm.key, "Content-Type": "application/json", "Content-Encoding": "zstd"]

    private func json(_ response: HTTPClientResponse) async throws -> JSONValue { try JSONParser.parse(try await response.collect()) }

    @Test func aZstdBodyIsDecodedPlacedAndSentOnPlain() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let responses = try await farm.request("POST", "/v1/responses", bytes: ZstdFrames.responsesBody, headers: Self.headers)
        #expect(responses.status == 200)
        #expect(try await json(responses)["status"] == "completed")
        let sent = try #require(farm.nodes[0].lastAnswerBody("/v1/responses"))
        #expect(sent["input"] == "Say hi")
        let chat = try await farm.request("POST", "/api/chat", bytes: ZstdFrames.nativeChatBody, headers: Self.headers)
        #expect(chat.status == 200)
        #expect(try await json(chat)["message"]?["role"] == "assistant")
    }

    @Test func aBrokenOrOversizedZstdBodyGetsTheClientsError() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.limits.maxBodyBytes = 64 * 1024 }
        try await farm.waitUntilAllHealthy()
        let cut = Array(ZstdFrames.responsesBody.dropLast(6))
        let broken = try await farm.request("POST", "/v1/responses", bytes: cut, headers: Self.headers)
        #expect(broken.status == 400)
        #expect(try await json(broken)["error"]?["message"]?.stringValue?.hasPrefix("failed to decompress zstd body: ") == true)
        let bomb = try await farm.request("POST", "/api/chat", bytes: ZstdFrames.millionZeros, headers: Self.headers)
        #expect(bomb.status == 413)
        #expect(try await json(bomb)["error"]?.stringValue?.contains("limits.maxBodyBytes") == true)
        var gzip = Self.headers
        gzip.replace("Content-Encoding", "gzip")
        #expect(try await farm.request("POST", "/v1/responses", bytes: cut, headers: gzip).status == 415)
        #expect(farm.nodes[0].requestCount("/v1/responses") == 0 && farm.nodes[0].requestCount("/api/chat") == 0)
    }
}

/// Frames the `zstd` command wrote.
enum ZstdFrames {
    /// `{"model":"llama3.2","input":"Say hi"}`
    static let responsesBody = Base64.decode("KLUv/QRYKQEAeyJtb2RlbCI6ImxsYW1hMy4yIiwiaW5wdXQiOiJTYXkgaGkifdQGENw=")!
    /// `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}`
    static let nativeChatBody = Base64.decode(
        "KLUv/QRYNQIA8oQQF5AZpgOiLDUgbdsMQaJs3x244yzE5H5KqXl2qNFqTj4IaUXi+pAeUgqPTXNx3StmNKizCMssPg4ABIZ2d301FBwFAOoUkrc=")!
    /// A million zero bytes in 50.
    static let millionZeros = Base64.decode("KLUv/QRoTAAACAABAPz/ORACAgAQAAIAEAACABAAAgAQAAIAEAACABAAAxIKAMyuyjk=")!
}
