import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// The `/v1` APIs besides chat on a route with a cloud tier: the Responses API, text completions
/// and embeddings go to the cloud endpoint's own path when the farm cannot serve them, as chat does;
/// Anthropic's Messages API, which no OpenAI-compatible cloud speaks, reaches it as an OpenAI chat.
@Suite(.stopsFarms) struct CloudRouteAPITests {
    static let secret = "sk-test-cloud-secret-abcdefghij"

    /// The seed's hybrid `gpt-4` route (the farm's llama3.1:70b first, the cloud's gpt-4 after),
    /// with the farm's only node stopped when `farmDown`.
    func hybridFarm(logs: LogCapture? = nil, farmDown: Bool = true) async throws -> (TestFarm, OllamaSimulator) {
        let cloud = try await SimulatedCloud.start()
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.1:70b"], preload: ["llama3.1:70b"])], environment: ["TEST_CLOUD_KEY": Self.secret], logs: logs
        ) { config in
            config.cloud = [cloud.endpoint]
            config.routes = [
                "gpt-4": [
                    .init(target: "ollama/llama3.1:70b", weight: 80, priority: 0), .init(target: "openai/gpt-4", weight: 20, priority: 1),
                ]
            ]
        }
        try await farm.waitUntilAllHealthy()
        if farmDown {
            farm.nodes[0].stop()
            #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        }
        return (farm, cloud.simulator)
    }

    /// The `data:` payloads of a server-sent event stream, whatever `event:` line comes first.
    func dataPayloads(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").compactMap { event in
            event.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        }
    }

    @Test func theResponsesAPIFallsBackToTheCloudWhenTheFarmCannotServe() async throws {
        let logs = LogCapture()
        let (farm, cloud) = try await hybridFarm(logs: logs)
        let whole = try await farm.request("POST", "/v1/responses", body: #"{"model":"gpt-4","input":"hi"}"#)
        #expect(whole.status == 200)
        let answer = try JSONParser.parse(try await whole.collect())
        #expect(answer["object"] == "response")
        #expect(answer["output"]?[0]?["content"]?[0]?["text"]?.stringValue?.isEmpty == false)
        #expect(cloud.requestCount("/v1/responses") == 1)
        #expect(cloud.lastBody("/v1/responses")?["model"] == "gpt-4")
        #expect(cloud.lastBody("/v1/responses")?["input"] == "hi")
        #expect(cloud.lastAuthorization("/v1/responses") == "Bearer \(Self.secret)")
        // The Responses API counts input and output tokens; the access log carries them.
        #expect(await farm.eventually { logs.text.contains("node=cloud:openai status=200") }, "\(logs.text)")
        let line = logs.text.split(separator: "\n").first { $0.contains("node=cloud:openai status=200") }.map(String.init) ?? ""
        #expect(Self.count("prompt_tokens", in: line) > 0, "\(line)")
        #expect(Self.count("completion_tokens", in: line) > 0, "\(line)")

        let streamed = try await farm.request("POST", "/v1/responses", body: #"{"model":"gpt-4","input":"hi","stream":true}"#)
        #expect(streamed.status == 200)
        #expect(streamed.headers["Content-Type"]?.hasPrefix("text/event-stream") == true)
        let payloads = dataPayloads(try await streamed.collect())
        #expect(payloads.first.flatMap { try? JSONParser.parse(Array($0.utf8)) }?["type"] == "response.created")
        #expect(payloads.last.flatMap { try? JSONParser.parse(Array($0.utf8)) }?["type"] == "response.completed", "\(payloads)")
        #expect(cloud.requestCount("/v1/responses") == 2)
        #expect(!logs.text.contains(Self.secret))
    }

    /// A `name=N` count in an access-log line; -1 when it has none.
    static func count(_ name: String, in line: String) -> Int {
        guard let range = line.range(of: " \(name)=") else { return -1 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    @Test func aResponsesStreamTheCloudCutsEndsInTheAPIsOwnErrorEvent() async throws {
        let logs = LogCapture()
        let (farm, cloud) = try await hybridFarm(logs: logs)
        cloud.setFault(.dropMidStream)
        let response = try await farm.request("POST", "/v1/responses", body: #"{"model":"gpt-4","input":"hi","stream":true}"#)
        let text = String(decoding: try await response.collect(), as: UTF8.self)
        #expect(text.contains("event: error\ndata: "), "\(text)")
        #expect(text.contains("failed mid-stream"))
        #expect(!text.contains("response.completed"))
        #expect(await farm.eventually { logs.text.contains("node=cloud:openai status=502 cut_mid_stream=true") }, "\(logs.text)")
    }

    @Test func embeddingsAndCompletionsFallBackToTheCloudsOwnPaths() async throws {
        let (farm, cloud) = try await hybridFarm()
        let embedded = try await farm.request("POST", "/v1/embeddings", body: #"{"model":"gpt-4","input":["a","b"]}"#)
        #expect(embedded.status == 200)
        let vectors = try JSONParser.parse(try await embedded.collect())
        #expect(vectors["object"] == "list")
        #expect(vectors["data"]?.arrayValue?.count == 2)
        #expect(cloud.lastBody("/v1/embeddings")?["model"] == "gpt-4")
        #expect(cloud.lastBody("/v1/embeddings")?["input"] == ["a", "b"])

        let completed = try await farm.request("POST", "/v1/completions", body: #"{"model":"gpt-4","prompt":"Say hi","max_tokens":5}"#)
        #expect(completed.status == 200)
        let completion = try JSONParser.parse(try await completed.collect())
        #expect(completion["object"] == "text_completion")
        #expect(completion["choices"]?[0]?["text"]?.stringValue?.isEmpty == false)
        #expect(cloud.lastBody("/v1/completions")?["prompt"] == "Say hi")
        #expect(cloud.lastBody("/v1/completions")?["max_tokens"] == 5)

        let streamed = try await farm.request("POST", "/v1/completions", body: #"{"model":"gpt-4","prompt":"Say hi","stream":true}"#)
        let payloads = dataPayloads(try await streamed.collect())
        #expect(payloads.last == "[DONE]", "\(payloads)")
        #expect(cloud.requestCount("/v1/completions") == 2)
    }

    @Test func aCloudModelNamedByItsEndpointIsServedWithoutTheFarm() async throws {
        let (farm, cloud) = try await hybridFarm(farmDown: false)
        let answer = try await farm.request("POST", "/v1/responses", body: #"{"model":"openai/gpt-4","input":"hi"}"#)
        #expect(answer.status == 200)
        #expect(cloud.requestCount("/v1/responses") == 1)
        #expect(cloud.lastBody("/v1/responses")?["model"] == "gpt-4")
        #expect(farm.nodes[0].requestCount("/v1/responses") == 0)
    }

    @Test func whileTheFarmServesTheRouteTheCloudIsNotAsked() async throws {
        let (farm, cloud) = try await hybridFarm(farmDown: false)
        let answer = try await farm.request("POST", "/v1/responses", body: #"{"model":"gpt-4","input":"hi"}"#)
        #expect(answer.status == 200)
        #expect(farm.nodes[0].requestCount("/v1/responses") == 1)
        #expect(farm.nodes[0].lastBody("/v1/responses")?["model"] == "llama3.1:70b")
        #expect(cloud.requestCount("/v1/responses") == 0)
    }

    @Test func anthropicMessagesReachTheCloudAsAnOpenAIChat() async throws {
        let (farm, cloud) = try await hybridFarm()
        // The route's farm is down: its cloud target takes the message as an OpenAI chat.
        let body = #"{"model":"gpt-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#
        let routed = try await farm.request("POST", "/v1/messages", body: body)
        let message = try JSONParser.parse(try await routed.collect())
        #expect(routed.status == 200, "\(message)")
        #expect(message["type"] == "message" && message["model"] == "gpt-4")
        #expect(cloud.requestCount("/v1/chat/completions") == 1)

        let cloudOnly = try await farm.request(
            "POST", "/v1/messages", body: #"{"model":"openai/gpt-4","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#)
        let cloudMessage = try JSONParser.parse(try await cloudOnly.collect())
        #expect(cloudOnly.status == 200, "\(cloudMessage)")
        #expect(cloudMessage["model"] == "openai/gpt-4")
        #expect(cloud.lastBody("/v1/chat/completions")?["model"] == "gpt-4")
        // Anthropic's own path is never asked of an OpenAI-compatible endpoint.
        #expect(cloud.requestCount("/v1/messages") == 0)
    }

    @Test func aWholeAnswerOverTheBodyLimitIsRefusedNotHeld() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await TestFarm.start([.init(models: ["llama3.2"])], environment: ["TEST_CLOUD_KEY": Self.secret]) { config in
            config.cloud = [cloud.endpoint]
            config.limits.maxBodyBytes = 1024
        }
        try await farm.waitUntilAllHealthy()
        let small = try await farm.json("POST", "/v1/embeddings", body: #"{"model":"openai/gpt-4","input":"a"}"#)
        #expect(small.status == 200, "\(small.body)")
        // Twelve vectors of eight floats come to about 2.5 KB.
        let inputs = (0..<12).map { "\"\($0)\"" }.joined(separator: ",")
        let large = try await farm.json("POST", "/v1/embeddings", body: #"{"model":"openai/gpt-4","input":["# + inputs + "]}")
        #expect(large.status == 502, "\(large.body)")
        #expect(large.body["error"]?["message"] == "cloud endpoint openai sent an answer over 1024 bytes (limits.maxBodyBytes)")
        #expect(cloud.simulator.requestCount("/v1/embeddings") == 2)
    }
}
