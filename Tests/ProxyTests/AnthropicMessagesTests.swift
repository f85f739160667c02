import HTTP1
import Testing
import WireFormats

/// `POST /v1/messages`, the Anthropic Messages API that Ollama translates itself: placed like any
/// request for its model, answered with the node's own bytes, TensorWall's own errors in
/// Anthropic's shape.
@Suite(.stopsFarms) struct AnthropicMessagesTests {
    static let hello = #"{"model":"llama3.2","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]"#

    @Test func aWholeMessageIsTheNodesOwnAnswer() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/v1/messages", body: Self.hello + "}")
        #expect(answer.status == 200)
        #expect(answer.body["type"] == "message")
        #expect(answer.body["model"] == "llama3.2")
        #expect(answer.body["content"]?[0]?["text"]?.stringValue?.isEmpty == false)
        #expect(farm.nodes[0].lastAnswerBody("/v1/messages")?["max_tokens"] == 64)
    }

    @Test func aNodeWithoutTheAPIIsPassedOverAtNoCostAndThenLeftOut() async throws {
        // node0 runs an Ollama older than the Anthropic API and holds the model warm; node1 has the
        // API. Without retries, the request still reaches node1: node0 did nothing with it.
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"], absentPaths: ["/v1/messages"]), .init(models: ["llama3.2"])]
        ) { $0.maxRetries = 0 }
        try await farm.waitUntilAllHealthy()
        for _ in 0..<3 {
            let answer = try await farm.json("POST", "/v1/messages", body: Self.hello + "}")
            #expect(answer.status == 200, "\(answer.body)")
            #expect(answer.body["type"] == "message")
        }
        // Once found out, node0 is not asked again on that path; its other APIs serve as before.
        #expect(farm.nodes[0].requestCount("/v1/messages") == 1)
        #expect(farm.nodes[1].requestCount("/v1/messages") == 3)
        let chat = #"{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"stream":false}"#
        #expect(try await farm.json("POST", "/api/chat", body: chat).status == 200)
    }

    @Test func aFarmWithoutTheAPISaysSo() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], absentPaths: ["/v1/messages"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/v1/messages", body: Self.hello + "}")
        #expect(answer.status == 404)
        #expect(answer.body["type"] == "error")
        #expect(answer.body["error"]?["type"] == "not_found_error")
        let message = answer.body["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("node node0 has no route for this API (it answered 404 page not found)"), "\(message)")
        // Asked again, the farm answers from what it learnt, without asking the node.
        let again = try await farm.json("POST", "/v1/messages", body: Self.hello + "}")
        #expect(again.status == 404)
        #expect(again.body["error"]?["message"]?.stringValue?.contains("1 node(s) have no route for this API (/v1/messages)") == true)
        #expect(farm.nodes[0].requestCount("/v1/messages") == 1)
        // A model no node holds is still not found, whatever the nodes lack.
        let unknownModel = Self.hello.replacingOccurrences(of: "llama3.2", with: "llama9") + "}"
        let unknown = try await farm.json("POST", "/v1/messages", body: unknownModel)
        #expect(unknown.status == 404)
        #expect(unknown.body["error"]?["message"]?.stringValue?.contains("llama9") == true, "\(unknown.body)")
    }

    @Test func aStreamIsTheNodesEventsUntouched() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let streamed = try await farm.text("POST", "/v1/messages", body: Self.hello + #","stream":true}"#)
        #expect(streamed.status == 200)
        #expect(streamed.headers["Content-Type"] == "text/event-stream")
        let types = streamed.body.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(types.first == "message_start")
        #expect(types.contains("content_block_delta"))
        #expect(types.last == "message_stop")
    }

    @Test func aStreamCutMidWayEndsWithTheMessagesAPIsErrorEvent() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.dropMidStream)
        let streamed = try await farm.text("POST", "/v1/messages", body: Self.hello + #","stream":true}"#)
        #expect(!streamed.body.contains("message_stop"))
        let last = try #require(streamed.body.split(separator: "\n").last(where: { $0.hasPrefix("data: ") }))
        let event = try JSONParser.parse(Array(last.dropFirst(6).utf8))
        #expect(event["type"] == "error")
        #expect(event["error"]?["message"]?.stringValue?.contains("mid-stream") == true)
    }

    @Test func tensorWallsOwnErrorsAreInAnthropicsShape() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        for (body, status, type) in [
            ("not json", 400, "invalid_request_error"),
            (#"{"max_tokens":8,"messages":[]}"#, 400, "invalid_request_error"),
            (#"{"model":"no-such-model","max_tokens":8,"messages":[{"role":"user","content":"x"}]}"#, 404, "not_found_error"),
        ] {
            let refused = try await farm.text("POST", "/v1/messages", body: body)
            let error = try JSONParser.parse(Array(refused.body.utf8))
            #expect(refused.status == status, "\(body)")
            #expect(error["type"] == "error", "\(body)")
            #expect(error["error"]?["type"]?.stringValue == type, "\(body)")
        }
        let noKey = try await farm.text("POST", "/v1/messages", body: Self.hello + "}", headers: ["Content-Type": "application/json"])
        #expect(noKey.status == 401)
        #expect(try JSONParser.parse(Array(noKey.body.utf8))["error"]?["type"] == "authentication_error")
        let wrongMethod = try await farm.text("GET", "/v1/messages")
        #expect(wrongMethod.status == 405)
        #expect(try JSONParser.parse(Array(wrongMethod.body.utf8))["type"] == "error")
    }

    /// Turn 2 repeats turn 1 with the answer as text blocks: it goes back to turn 1's node.
    @Test func aConversationsNextTurnGoesToTheNodeThatServedItsLastTurn() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"], maxParallel: 4)
        let farm = try await TestFarm.start([warm, warm, warm])
        try await farm.waitUntilAllHealthy()
        for conversation in 0..<6 {
            let system = "You are assistant number \(conversation)."
            let before = farm.nodes.map { $0.answeredCount("/v1/messages") }
            let first = try await farm.json(
                "POST", "/v1/messages",
                body: #"{"model":"llama3.2","max_tokens":64,"system":"\#(system)","messages":[{"role":"user","content":"Hello"}]}"#)
            let served = try #require(farm.nodes.indices.first { farm.nodes[$0].answeredCount("/v1/messages") > before[$0] })
            let reply = try #require(first.body["content"]?[0]?["text"]?.stringValue)
            let turn2 = #"""
                {"model":"llama3.2","max_tokens":64,"system":[{"type":"text","text":"\#(system)"}],"messages":[
                {"role":"user","content":[{"type":"text","text":"Hello"}]},
                {"role":"assistant","content":[{"type":"text","text":"\#(reply)"}]},
                {"role":"user","content":"And then?"}]}
                """#
            let beforeSecond = farm.nodes.map { $0.answeredCount("/v1/messages") }
            #expect(try await farm.json("POST", "/v1/messages", body: turn2).status == 200)
            #expect(farm.nodes[served].answeredCount("/v1/messages") == beforeSecond[served] + 1, "conversation \(conversation)")
        }
    }
}
