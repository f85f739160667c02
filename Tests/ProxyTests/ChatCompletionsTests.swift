import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// The OpenAI chat API through TensorWall, checked on the wire.
@Suite(.stopsFarms) struct ChatCompletionsTests {
    @Test func answersInOpenAIShapeWithUsage() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json(
            "POST", "/v1/chat/completions", body: #"{"model":"ollama/llama3.2","messages":[{"role":"user","content":"Hello!"}]}"#)
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/json")
        let body = answer.body
        #expect(body["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
        #expect(body["object"] == "chat.completion")
        #expect(body["created"]?.intValue != nil)
        #expect(body["model"] == "llama3.2")
        let choice = try #require(body["choices"]?.arrayValue?.first)
        #expect(choice["message"]?["role"] == "assistant")
        #expect(choice["message"]?["content"]?.stringValue?.isEmpty == false)
        #expect(choice["finish_reason"] == "stop")
        let usage = try #require(body["usage"])
        #expect(usage["completion_tokens"] == 8)
        #expect((usage["prompt_tokens"]?.intValue ?? 0) > 0)
        #expect(usage["total_tokens"]?.intValue == (usage["prompt_tokens"]?.intValue ?? 0) + 8)
    }

    @Test func translatesFieldsAndVisionPartsForOllama() async throws {
        let farm = try await TestFarm.start([.init(models: ["llava"])])
        try await farm.waitUntilAllHealthy()
        let body = """
            {"model":"ollama/llava","max_tokens":3,"temperature":0.2,"top_p":0.9,"stop":"END","seed":42,
             "messages":[{"role":"system","content":"Be brief."},
                         {"role":"user","content":[{"type":"text","text":"What's in this image?"},
                                                   {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
            """
        let answer = try await farm.json("POST", "/v1/chat/completions", body: body)
        #expect(answer.status == 200)
        #expect(answer.body["choices"]?[0]?["finish_reason"] == "length")
        let sent = try #require(farm.nodes[0].lastAnswerBody("/api/chat"))
        #expect(sent["model"] == "llava")
        #expect(sent["stream"] == false)
        #expect(sent["options"]?["num_predict"] == 3)
        #expect(sent["options"]?["temperature"] == .double(0.2))
        #expect(sent["options"]?["top_p"] == .double(0.9))
        #expect(sent["options"]?["stop"] == ["END"])
        #expect(sent["options"]?["seed"] == 42)
        let messages = try #require(sent["messages"]?.arrayValue)
        #expect(messages[0] == ["role": "system", "content": "Be brief."])
        #expect(messages[1]["content"] == "What's in this image?")
        #expect(messages[1]["images"] == ["iVBORw0KGgo="])
    }

    /// What Ollama's own `/v1` sends its scheduler for a request: a reasoning effort as `think`,
    /// sampling the client left out at 1.0, and the log probabilities asked for.
    @Test func aReasoningEffortAndOllamasSamplingDefaultsReachTheNode() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let body =
            #"{"model":"llama3.2","reasoning_effort":"none","logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"hi"}]}"#
        #expect(try await farm.json("POST", "/v1/chat/completions", body: body).status == 200)
        let sent = try #require(farm.nodes[0].lastAnswerBody("/api/chat"))
        #expect(sent["think"] == false)
        #expect(sent["options"]?["temperature"]?.doubleValue == 1)
        #expect(sent["options"]?["top_p"]?.doubleValue == 1)
        #expect(sent["logprobs"] == true && sent["top_logprobs"] == 2)
        let refused = try await farm.json(
            "POST", "/v1/chat/completions",
            body: #"{"model":"llama3.2","reasoning_effort":"lots","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(refused.status == 400)
        #expect(refused.body["error"]?["type"] == "invalid_request_error")
    }

    /// Ollama's `/v1` reads `response_format` leniently: a type it does not know is no format, and the
    /// type's case does not matter. An OpenAI client's request that Ollama would serve is served.
    @Test func responseFormatsOllamaServesAreServed() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let messages = #""messages":[{"role":"user","content":"hi"}]"#
        let unknown = try await farm.json(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","response_format":{"type":"grammar"},"# + messages + "}")
        #expect(unknown.status == 200)
        #expect(farm.nodes[0].lastAnswerBody("/api/chat")?["format"] == nil)
        let upper = try await farm.json(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","response_format":{"type":"JSON_OBJECT"},"# + messages + "}")
        #expect(upper.status == 200)
        #expect(farm.nodes[0].lastAnswerBody("/api/chat")?["format"] == "json")
    }

    @Test func streamsEventByEventNotBufferedToTheEnd() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)  // the node sends one token, then waits
        let response = try await farm.request(
            "POST", "/v1/chat/completions",
            body:
                #"{"model":"llama3.2","messages":[{"role":"user","content":"Tell me a story"}],"stream":true,"stream_options":{"include_usage":true}}"#
        )
        #expect(response.headers["Content-Type"] == "text/event-stream")
        var events = EventReader(response)
        let first = try JSONParser.parse(try #require(try await events.next()))
        // This arrived while the node is still holding the rest of the answer back.
        #expect(first["object"] == "chat.completion.chunk")
        #expect(first["choices"]?[0]?["delta"] == ["role": "assistant", "content": "Hello"])
        #expect(farm.nodes[0].streamsHeld)
        farm.nodes[0].holdStreams(false)
        var payloads: [String] = []
        while let payload = try await events.next() { payloads.append(payload) }
        #expect(payloads.last == "[DONE]")
        let chunks = try payloads.dropLast().map { try JSONParser.parse($0) }
        #expect(chunks.allSatisfy { $0["id"] == first["id"] && $0["created"] == first["created"] })
        let finish = try #require(chunks.dropLast().last)
        #expect(finish["choices"]?[0]?["finish_reason"] == "stop")
        #expect(finish["choices"]?[0]?["delta"] == [:])
        let usage = try #require(chunks.last)
        #expect(usage["choices"] == [])
        #expect(usage["usage"]?["completion_tokens"] == 8)
        let text = ([first] + chunks).compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "Hello from a simulated Ollama node. How")
    }

    @Test func aStreamThatBreaksMidwayEndsWithAnErrorEventAndNoDone() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.dropMidStream)
        let response = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"x"}],"stream":true}"#)
        var events = EventReader(response)
        var payloads: [String] = []
        while let payload = try await events.next() { payloads.append(payload) }
        #expect(payloads.last != "[DONE]")
        #expect(try JSONParser.parse(try #require(payloads.last))["error"]?["message"] != nil)
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[0].snapshot(index: 0).totalInFlight == 0 })
    }

    @Test(arguments: [
        ("{\"model\":", 400, "invalid_request_error"),
        ("", 400, "invalid_request_error"),
        ("[]", 400, "invalid_request_error"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, 400, "invalid_request_error"),
        (#"{"model":"llama3.2","messages":[]}"#, 400, "invalid_request_error"),
        (#"{"model":"llama3.2","messages":[{"role":"wizard","content":"x"}]}"#, 400, "invalid_request_error"),
        (#"{"model":"llama3.2","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, 400, "invalid_request_error"),
        (
            #"{"model":"llama3.2","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#,
            400, "invalid_request_error"
        ),
        (#"{"model":"llama9","messages":[{"role":"user","content":"x"}]}"#, 404, "invalid_request_error"),
        (#"{"model":"llama3.2","messages":[{"role":"user","content":"x"}],"response_format":{"type":3}}"#, 400, "invalid_request_error"),
    ])
    func badInputGetsOpenAIErrors(body: String, status: Int, type: String) async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/v1/chat/completions", body: body)
        #expect(answer.status == status)
        Self.expectOpenAIError(answer.body, type: type)
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
    }

    @Test func wrongOrMissingKeysGet401() async throws {
        let farm = try await TestFarm.start([.init()])
        let body = #"{"model":"llama3.2","messages":[{"role":"user","content":"x"}]}"#
        for headers: HTTPHeaders in [
            ["X-API-Key": "gw_wrong"], ["Authorization": "Bearer gw_wrong"], [:], ["Authorization": "Basic Zm9vOmJhcg=="],
        ] {
            let answer = try await farm.json("POST", "/v1/chat/completions", body: body, headers: headers)
            #expect(answer.status == 401)
            Self.expectOpenAIError(answer.body, type: "authentication_error")
            #expect(answer.body["error"]?["code"] == "invalid_api_key")
        }
        try await farm.waitUntilAllHealthy()
        let bearer = try await farm.json("POST", "/v1/chat/completions", body: body, headers: ["Authorization": "Bearer \(TestFarm.key)"])
        #expect(bearer.status == 200)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 1)
    }

    @Test func wrongMethodsAndUnknownPathsAreRefusedInTheRightFormat() async throws {
        let farm = try await TestFarm.start([.init()])
        let get = try await farm.json("GET", "/v1/chat/completions")
        #expect(get.status == 405)
        Self.expectOpenAIError(get.body, type: "invalid_request_error")
        let unknown = try await farm.json("GET", "/v1/nothing")
        #expect(unknown.status == 404)
        Self.expectOpenAIError(unknown.body, type: "invalid_request_error")
    }

    @Test func oversizedBodiesOnV1Get413InOpenAIShape() async throws {
        let farm = try await TestFarm.start([.init()])
        let huge = String(repeating: "x", count: 65 * 1024 * 1024)
        let response = try await farm.request("POST", "/v1/chat/completions", body: huge)
        #expect(response.status == 413)
        Self.expectOpenAIError(try JSONParser.parse(try await response.collect()), type: "invalid_request_error")
    }

    static func expectOpenAIError(_ body: JSONValue, type: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = body["error"]
        #expect(error?["message"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error?["type"]?.stringValue == type, sourceLocation: sourceLocation)
        #expect(error?.objectValue?.keys.contains("param") == true, sourceLocation: sourceLocation)
        #expect(error?.objectValue?.keys.contains("code") == true, sourceLocation: sourceLocation)
    }
}

@Suite(.stopsFarms) struct StatusTests {
    @Test func statusShowsEachNodesHealthModelsAndInFlight() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init(models: ["mistral"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"x"}],"stream":true}"#)
        var events = EventReader(held)
        _ = try await events.next()
        // A health probe may miss its 200 ms timeout while the whole suite shares the CPU: read the
        // status again until it shows a probe that answered (one goes out every 50 ms).
        var status = try await farm.json("GET", "/status")
        for _ in 0..<40 where status.body["nodes"]?[0]?["lastProbe"]?["ok"] != true {
            try await Task.sleep(for: .milliseconds(50))
            status = try await farm.json("GET", "/status")
        }
        #expect(status.status == 200)
        let nodes = try #require(status.body["nodes"]?.arrayValue)
        #expect(nodes.map { $0["name"] } == ["node0", "node1"])
        #expect(nodes[0]["health"] == "healthy")
        #expect(nodes[0]["url"]?.stringValue == "http://127.0.0.1:\(farm.nodes[0].port)")
        #expect(nodes[0]["lastProbe"]?["ok"] == true)
        #expect(nodes[0]["pulledModels"]?[0]?["name"] == "llama3.2:latest")
        #expect(nodes[0]["loadedModels"]?[0]?["name"] == "llama3.2:latest")
        #expect(nodes[0]["inFlight"] == ["llama3.2:latest": 1])
        #expect(nodes[1]["pulledModels"]?[0]?["name"] == "mistral:latest")
        #expect(nodes[1]["loadedModels"] == [])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func healthzAnswersWhateverTheNodesState() async throws {
        let farm = try await TestFarm.start([.init()])
        farm.nodes[0].stop()
        let answer = try await farm.json("GET", "/healthz")
        #expect(answer.status == 200)
        #expect(answer.body == ["status": "ok"])
    }

    @Test func statusCarriesNoSecrets() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let response = try await farm.request("GET", "/status")
        let text = String(decoding: try await response.collect(), as: UTF8.self)
        #expect(!text.contains(TestFarm.key))
    }
}
