import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Ollama's `/api/chat`, `/api/generate` and embeddings reaching the cloud tier: a route's cloud
/// targets, or a model a cloud endpoint lists, serve an Ollama client too. The request goes out in
/// OpenAI's fields and the answer comes back in Ollama's, whole or as NDJSON lines.
@Suite(.stopsFarms) struct NativeCloudTierTests {
    static let secret = "sk-test-native-cloud-chat"

    func farm(cloud: SimulatedCloud) async throws -> TestFarm { try await cloud.farm(cloudOnly: "cloud-only", key: Self.secret) }

    @Test func aWholeAnswerFromTheCloudIsOllamas() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let answer = try await farm.json(
            "POST", "/api/chat",
            body: #"{"model":"cloud-only","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":3}}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(answer.body["model"] == "cloud-only")
        #expect(answer.body["message"]?["role"] == "assistant")
        #expect(answer.body["message"]?["content"]?.stringValue?.isEmpty == false)
        #expect(answer.body["done"] == true && answer.body["done_reason"] == "length")
        #expect(answer.body["eval_count"] == 3 && (answer.body["prompt_eval_count"]?.intValue ?? 0) > 0)
        #expect(answer.body["created_at"]?.stringValue?.hasSuffix("Z") == true)
        // Clients divide the counts by the durations: none is left at 0.
        #expect((answer.body["eval_duration"]?.intValue ?? 0) > 0 && answer.body["eval_duration"] == answer.body["total_duration"])
        // The cloud was sent OpenAI's request, under its own name for the model, with the endpoint's key.
        let sent = try #require(cloud.simulator.lastBody("/v1/chat/completions"))
        #expect(sent["model"] == "gpt-4" && sent["max_tokens"] == 3 && sent["options"] == nil)
        #expect(sent["messages"] == [["role": "user", "content": "hi"]])
        #expect(cloud.simulator.lastAuthorization("/v1/chat/completions") == "Bearer \(Self.secret)")
    }

    @Test func aThinkingLevelAndLogprobsReachTheCloudInOpenAIsFields() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let body =
            #"{"model":"cloud-only","messages":[{"role":"user","content":"hi"}],"stream":false,"think":"high","logprobs":true,"top_logprobs":2}"#
        let answer = try await farm.json("POST", "/api/chat", body: body)
        #expect(answer.status == 200, "\(answer.body)")
        let sent = try #require(cloud.simulator.lastBody("/v1/chat/completions"))
        #expect(sent["reasoning_effort"] == "high" && sent["think"] == nil, "\(sent)")
        #expect(sent["logprobs"] == true && sent["top_logprobs"] == 2, "\(sent)")
    }

    @Test func aStreamFromTheCloudIsOllamasNDJSON() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let response = try await farm.request(
            "POST", "/api/chat", body: #"{"model":"hybrid","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/x-ndjson")
        let text = String(decoding: try await response.collect(), as: UTF8.self)
        let lines = try text.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
        #expect(lines.count >= 2, "\(text)")
        #expect(lines.dropLast().allSatisfy { $0["done"] == false && $0["model"] == "hybrid" }, "\(text)")
        #expect(lines.dropLast().map { $0["message"]?["content"]?.stringValue ?? "" }.joined().isEmpty == false)
        let last = try #require(lines.last)
        #expect(last["done"] == true && last["done_reason"] == "stop", "\(text)")
        #expect((last["eval_count"]?.intValue ?? 0) > 0, "\(text)")
        // The farm target came first and had no copy; the cloud was asked to stream with its usage.
        let sent = try #require(cloud.simulator.lastBody("/v1/chat/completions"))
        #expect(sent["stream"] == true && sent["stream_options"] == ["include_usage": true])
    }

    @Test func aGenerateFromTheCloudIsOllamasWholeAndStreamed() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let answer = try await farm.json(
            "POST", "/api/generate", body: #"{"model":"cloud-only","system":"be brief","prompt":"why?","stream":false}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body["model"] == "cloud-only" && answer.body["message"] == nil)
        #expect(answer.body["response"]?.stringValue?.isEmpty == false)
        #expect(answer.body["done"] == true && (answer.body["eval_count"]?.intValue ?? 0) > 0)
        let sent = try #require(cloud.simulator.lastBody("/v1/chat/completions"))
        #expect(sent["messages"] == [["role": "system", "content": "be brief"], ["role": "user", "content": "why?"]])
        let response = try await farm.request("POST", "/api/generate", body: #"{"model":"cloud-only","prompt":"why?"}"#)
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/x-ndjson")
        let text = String(decoding: try await response.collect(), as: UTF8.self)
        let lines = try text.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
        #expect(lines.count >= 2 && lines.last?["done"] == true, "\(text)")
        #expect(lines.dropLast().map { $0["response"]?.stringValue ?? "" }.joined().isEmpty == false, "\(text)")
    }

    @Test func aModelACloudListsFallsBackToTheCloudOnTheNativeChat() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        // No node has gpt-4; the endpoint lists it, so the bare name reaches it as on `/v1`.
        let answer = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body["model"] == "gpt-4" && answer.body["done"] == true)
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 1)
        // A model the farm has is served there, in the node's own bytes.
        let local = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(local.status == 200 && local.body["done"] == true)
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 1)
    }

    @Test func aModelACloudListsGoesToTheFarmAsSent() async throws {
        let cloud = try await SimulatedCloud.start()
        var listing = cloud.endpoint
        listing.models = ["llama3.2"]
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.2"], preload: ["llama3.2"])], environment: ["TEST_CLOUD_KEY": Self.secret]
        ) {
            config in
            config.cloud = [listing]
            config.keepAlive = "10m"
        }
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200 && answer.body["done"] == true, "\(answer.body)")
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 0)
        // The client's bytes went on with only the config's keep_alive spliced in front, not decoded and written again.
        let sent = try #require(farm.nodes[0].lastBody("/api/chat")?.objectValue)
        #expect(sent.fields.map(\.key) == ["keep_alive", "model", "stream", "messages"], "\(sent)")
    }

    @Test func aCloudThatRefusesIsAnsweredInOllamasShapeWithoutItsKey() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        // The cloud refuses a request with no messages (as OpenAI does): the client reads Ollama's error.
        let answer = try await farm.json("POST", "/api/chat", body: #"{"model":"cloud-only","messages":[],"stream":false}"#)
        #expect(answer.status == 400, "\(answer.body)")
        #expect(answer.body["error"]?.stringValue?.contains("cloud endpoint openai") == true, "\(answer.body)")
        #expect(answer.body.objectValue?.fields.count == 1)
        #expect(!String(decoding: answer.body.serialized(), as: UTF8.self).contains(Self.secret))
        // A body TensorWall cannot put in OpenAI's fields, for a route only the cloud serves.
        let malformed = try await farm.json("POST", "/api/chat", body: #"{"model":"cloud-only","messages":"hi"}"#)
        #expect(malformed.status == 400)
        #expect(malformed.body["error"] == "messages must be an array", "\(malformed.body)")
    }

    @Test func embeddingsFromTheCloudAreOllamas() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let answer = try await farm.json(
            "POST", "/api/embed",
            body: #"{"model":"cloud-only","input":["a","b"],"dimensions":8,"truncate":true,"options":{"num_ctx":512}}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(answer.body["model"] == "cloud-only")
        let vectors = try #require(answer.body["embeddings"]?.arrayValue)
        #expect(vectors.count == 2 && vectors.allSatisfy { $0.arrayValue?.count == 8 }, "\(answer.body)")
        for vector in vectors {
            let length = (vector.arrayValue ?? []).reduce(0) { $0 + ($1.doubleValue ?? 0) * ($1.doubleValue ?? 0) }.squareRoot()
            #expect(abs(length - 1) < 1e-9)
        }
        #expect((answer.body["prompt_eval_count"]?.intValue ?? 0) > 0 && (answer.body["total_duration"]?.intValue ?? 0) > 0)
        // OpenAI's request, under the endpoint's name, without the fields only Ollama reads.
        let sent = try #require(cloud.simulator.lastBody("/v1/embeddings"))
        #expect(sent == ["encoding_format": "float", "input": ["a", "b"], "dimensions": 8, "model": "gpt-4"], "\(sent)")

        // The legacy endpoint: one vector, through the hybrid route whose farm target no node has.
        let legacy = try await farm.json("POST", "/api/embeddings", body: #"{"model":"hybrid","prompt":"a"}"#)
        #expect(legacy.status == 200, "\(legacy.body)")
        #expect(legacy.body.objectValue?.fields.map(\.key) == ["embedding"] && legacy.body["embedding"]?.arrayValue?.count == 8)
        #expect(cloud.simulator.lastBody("/v1/embeddings")?["input"] == "a")
        // The same vector either way: the cloud's own is already of length 1.
        let legacyValues = (legacy.body["embedding"]?.arrayValue ?? []).compactMap(\.doubleValue)
        let embedValues = (vectors[0].arrayValue ?? []).compactMap(\.doubleValue)
        #expect(legacyValues.count == 8 && zip(legacyValues, embedValues).allSatisfy { abs($0 - $1) < 1e-12 }, "\(legacy.body)")
    }

    @Test func embeddingsTheCloudCannotTakeAreRefusedInOllamasWords() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let mixed = try await farm.json("POST", "/api/embed", body: #"{"model":"cloud-only","input":["a",1]}"#)
        #expect(mixed.status == 400 && mixed.body == ["error": "invalid input type"], "\(mixed.body)")
        let prompt = try await farm.json("POST", "/api/embeddings", body: #"{"model":"cloud-only","prompt":true}"#)
        #expect(prompt.status == 400, "\(prompt.body)")
        #expect(prompt.body["error"] == "json: cannot unmarshal bool into Go struct field EmbeddingRequest.prompt of type string")
        // An empty list only loads the model, which a cloud cannot do: it is not sent there.
        let load = try await farm.json("POST", "/api/embed", body: #"{"model":"cloud-only","input":[]}"#)
        #expect(load.status == 404 && load.body == ["error": #"model "cloud-only" not found, try pulling it first"#], "\(load.body)")
        #expect(cloud.simulator.requestCount("/v1/embeddings") == 0)
    }
}
