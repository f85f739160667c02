import APITranslation
import Balancer
import HTTP1
import Testing
import WireFormats

@testable import Proxy

/// `/v1/models`, `/v1/embeddings` and `/v1/completions` in OpenAI's shapes, served by the farm.
@Suite(.stopsFarms) struct OpenAIEndpointsTests {
    @Test func modelsListsTheFarmCloudEndpointsAndRoutes() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "mistral"]), .init(models: ["llama3.2"])]) { config in
            config.cloud = [.init(name: "openai", url: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY", models: ["gpt-4o"])]
            config.routes = ["gpt-4": [.init(target: "ollama/llama3.2", weight: 100, priority: 0)]]
        }
        try await farm.waitUntilAllHealthy()
        let list = try await farm.json("GET", "/v1/models")
        #expect(list.body["object"] == "list")
        let ids = list.body["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
        #expect(ids == ["llama3.2:latest", "mistral:latest", "openai/gpt-4o", "gpt-4"])
        let first = try #require(list.body["data"]?[0])
        #expect(first["object"] == "model" && first["owned_by"] == "library" && first["created"]?.intValue ?? 0 > 1_700_000_000)
        let one = try await farm.json("GET", "/v1/models/llama3.2")
        #expect(one.status == 200 && one.body["id"] == "llama3.2")
        let missing = try await farm.json("GET", "/v1/models/gemma")
        #expect(missing.status == 404)
        #expect(missing.body["error"]?["message"] == "model 'gemma:latest' not found")
        let capitalised = try await farm.json("GET", "/v1/models/ollama/Gemma:2B")
        #expect(capitalised.status == 404)
        #expect(capitalised.body["error"]?["message"] == "model 'Gemma:2B' not found")
    }

    @Test func modelsKeepTheNamesAsTheNodesPrintThem() async throws {
        let hub = "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"
        let farm = try await TestFarm.start([.init(models: [hub, "MyTeam/Coder:7b"])])
        try await farm.waitUntilAllHealthy()
        let list = try await farm.json("GET", "/v1/models")
        let entries = try #require(list.body["data"]?.arrayValue)
        #expect(entries.compactMap { $0["id"]?.stringValue } == [hub, "MyTeam/Coder:7b"])
        #expect(entries.compactMap { $0["owned_by"]?.stringValue } == ["bartowski", "MyTeam"])
        // Looked up in any case, as Ollama matches names.
        let one = try await farm.json("GET", "/v1/models/" + hub.lowercased())
        #expect(one.status == 200 && one.body["id"]?.stringValue == hub.lowercased())
    }

    @Test func embeddingsAsFloatsAndAsBase64() async throws {
        let farm = try await TestFarm.start([.init(models: ["nomic-embed-text"])])
        try await farm.waitUntilAllHealthy()
        let floats = try await farm.json("POST", "/v1/embeddings", body: #"{"model":"nomic-embed-text","input":["a","b"]}"#)
        #expect(floats.status == 200)
        #expect(floats.body["object"] == "list")
        #expect(floats.body["data"]?[1]?["index"] == 1)
        let vector = try #require(floats.body["data"]?[0]?["embedding"]?.arrayValue)
        #expect(vector.count == 8)
        #expect(floats.body["usage"]?["prompt_tokens"]?.intValue ?? 0 > 0)
        let encoded = try await farm.json(
            "POST", "/v1/embeddings", body: #"{"model":"ollama/nomic-embed-text","input":"a","encoding_format":"base64"}"#)
        let text = try #require(encoded.body["data"]?[0]?["embedding"]?.stringValue)
        #expect(text.count == 44)  // 8 float32 = 32 bytes = 44 base64 characters
        let bad = try await farm.json("POST", "/v1/embeddings", body: #"{"model":"nomic-embed-text","input":[]}"#)
        #expect(bad.status == 400 && bad.body["error"]?["message"] == "invalid input")
        let format = try await farm.json(
            "POST", "/v1/embeddings", body: #"{"model":"nomic-embed-text","input":"a","encoding_format":"hex"}"#)
        #expect(format.status == 400)
    }

    @Test func base64IsLittleEndianFloat32() {
        #expect(EmbeddingTranslation.base64Float32([1.0]) == "AACAPw==")
        #expect(Base64.encode(Array("hello".utf8)) == "aGVsbG8=")
    }

    @Test func completionsPlainAndStreamed() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let plain = try await farm.json("POST", "/v1/completions", body: #"{"model":"llama3.2","prompt":"Say hi","max_tokens":3}"#)
        #expect(plain.status == 200)
        #expect(plain.body["object"] == "text_completion")
        #expect(plain.body["id"]?.stringValue?.hasPrefix("cmpl-") == true)
        #expect(plain.body["choices"]?[0]?["text"]?.stringValue?.isEmpty == false)
        #expect(plain.body["choices"]?[0]?["finish_reason"] == "length")
        #expect(farm.nodes[0].lastAnswerBody("/api/generate")?["options"]?["num_predict"] == 3)
        let streamed = try await farm.request(
            "POST", "/v1/completions",
            body: #"{"model":"llama3.2","prompt":"Say hi","stream":true,"stream_options":{"include_usage":true}}"#)
        var events = EventReader(streamed)
        var payloads: [String] = []
        while let event = try await events.next() { payloads.append(event) }
        #expect(payloads.last == "[DONE]")
        // A stream that failed has fewer events: fail the test, do not crash the whole suite on the index.
        try #require(payloads.count >= 2, "\(payloads)")
        let usage = try JSONParser.parse(Array(payloads[payloads.count - 2].utf8))
        #expect(usage["usage"]?["completion_tokens"]?.intValue ?? 0 > 0)
        #expect(try JSONParser.parse(Array(payloads[0].utf8))["object"] == "text_completion")
        let missing = try await farm.json("POST", "/v1/completions", body: #"{"model":"llama3.2"}"#)
        #expect(missing.status == 400 && missing.body["error"]?["param"] == "prompt")
    }

    /// `logprobs: N` on a legacy completion goes on as Ollama's `/v1` sends it (log probabilities
    /// with the top `N`), past 20 is refused as `/api/generate` refuses it, and a choice carries no
    /// `logprobs` key, as Ollama writes it.
    @Test func completionLogprobsGoOnAsOllamaSendsThem() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let asked = try await farm.json("POST", "/v1/completions", body: #"{"model":"llama3.2","prompt":"Say hi","logprobs":3}"#)
        #expect(asked.status == 200)
        #expect(asked.body["choices"]?[0]?.objectValue?.keys.contains("logprobs") == false)
        let sent = try #require(farm.nodes[0].lastAnswerBody("/api/generate"))
        #expect(sent["logprobs"] == true && sent["top_logprobs"] == 3)
        #expect(try await farm.json("POST", "/v1/completions", body: #"{"model":"llama3.2","prompt":"x","logprobs":0}"#).status == 200)
        #expect(farm.nodes[0].lastAnswerBody("/api/generate")?["logprobs"] == nil)
        let streamed = try await farm.request(
            "POST", "/v1/completions", body: #"{"model":"llama3.2","prompt":"Say hi","stream":true}"#)
        var events = EventReader(streamed)
        let first = try #require(try await events.next())
        #expect(try JSONParser.parse(Array(first.utf8))["choices"]?[0]?.objectValue?.keys.contains("logprobs") == false)
        while try await events.next() != nil {}
        for (body, message) in [
            (#"{"model":"llama3.2","prompt":"x","logprobs":21}"#, "top_logprobs must be between 0 and 20"),
            (#"{"model":"llama3.2","prompt":"x","logprobs":true}"#, "logprobs must be an integer"),
        ] {
            let refused = try await farm.json("POST", "/v1/completions", body: body)
            #expect(refused.status == 400, "\(body)")
            #expect(refused.body["error"]?["message"]?.stringValue == message)
            #expect(refused.body["error"]?["type"] == "invalid_request_error")
        }
    }
}
