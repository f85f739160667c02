import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// A `routes` alias asked for on Ollama's own API: an Ollama client names the alias as it would a
/// model, and the route's farm targets serve it in the route's order. Its cloud targets serve chat
/// and generate only (`NativeCloudTierTests`): embeddings have no OpenAI form the cloud tier takes.
@Suite(.stopsFarms) struct NativeRouteTests {
    func farm(cloud: SimulatedCloud? = nil) async throws -> TestFarm {
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.2", "qwen2.5"], preload: ["llama3.2"])], environment: ["TEST_CLOUD_KEY": "sk-test-native-route"]
        ) { config in
            if let cloud { config.cloud = [cloud.endpoint] }
            config.routes = [
                // The first tier names a model no node has pulled: the second serves.
                "team-chat": [
                    .init(target: "ollama/mistral", weight: 100, priority: 0), .init(target: "ollama/llama3.2", weight: 100, priority: 1),
                ],
                "cloud-only": [.init(target: "openai/gpt-4", weight: 100, priority: 0)],
            ]
        }
        try await farm.waitUntilAllHealthy()
        return farm
    }

    @Test func anAliasIsServedByTheRoutesFarmTargetOnTheNativeChat() async throws {
        let farm = try await farm()
        let answer = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"team-chat","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body["done"] == true)
        #expect(answer.body["message"]?["content"]?.stringValue?.isEmpty == false)
        // The node was asked for the route's model by its full name, the rest of the body as sent.
        #expect(farm.nodes[0].lastBody("/api/chat")?["model"] == "llama3.2:latest")
        #expect(farm.nodes[0].lastBody("/api/chat")?["messages"]?[0]?["content"] == "hi")
        #expect(farm.nodes[0].lastBody("/api/chat")?["stream"] == false)
    }

    @Test func anAliasStreamsNDJSONOnTheNativeGenerate() async throws {
        let farm = try await farm()
        let response = try await farm.request("POST", "/api/generate", body: #"{"model":"team-chat","prompt":"hi"}"#)
        #expect(response.status == 200)
        let lines = String(decoding: try await response.collect(), as: UTF8.self).split(separator: "\n")
        #expect(lines.count > 2)
        let last = try JSONParser.parse(Array(lines.last!.utf8))
        #expect(last["done"] == true)
        #expect(farm.nodes[0].lastBody("/api/generate")?["model"] == "llama3.2:latest")
    }

    @Test func showDescribesAnAliasByItsFirstFarmTargetANodeHas() async throws {
        // `ollama run ALIAS` asks /api/show first, and pulls what it is told is missing.
        let farm = try await farm()
        // TensorWall asks each pulled model's facts in the background (`ModelDescriber`): let it
        // finish, so the node's last /api/show body is the one this test sent.
        #expect(await farm.eventually { farm.nodes[0].requestCount("/api/show") >= 2 })
        let shown = try await farm.json("POST", "/api/show", body: #"{"model":"team-chat"}"#)
        #expect(shown.status == 200, "\(shown.body)")
        #expect(shown.body["details"] != nil)
        #expect(farm.nodes[0].lastBody("/api/show")?["model"] == "llama3.2:latest")
        let prefixed = try await farm.json("POST", "/api/show", body: #"{"model":"ollama/qwen2.5"}"#)
        #expect(prefixed.status == 200, "\(prefixed.body)")
        #expect(farm.nodes[0].lastBody("/api/show")?["model"] == "qwen2.5:latest")
        let missing = try await farm.json("POST", "/api/show", body: #"{"model":"cloud-only"}"#)
        #expect(missing.status == 404)
        #expect(missing.body["error"] == "model 'cloud-only' not found")
    }

    @Test func tagsListsAnAliasUnderItsFirstFarmTargetsEntry() async throws {
        let farm = try await farm()
        let tags = try await farm.json("GET", "/api/tags")
        #expect(tags.status == 200)
        let models = tags.body["models"]?.arrayValue ?? []
        let alias = try #require(models.first { $0["name"] == "team-chat" }, "\(models)")
        let target = try #require(models.first { $0["name"] == "llama3.2:latest" })
        #expect(alias["model"] == "team-chat")
        #expect(alias["digest"] == target["digest"])
        #expect(alias["size"] == target["size"])
        // An alias no node can serve (its only target a cloud's) is not offered.
        #expect(!models.contains { $0["name"] == "cloud-only" })
        #expect(models.count == 3, "\(models)")
    }

    @Test func anAliasWithOnlyCloudTargetsIsNotFoundInOllamasShapeOnLoads() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        // A generate with no prompt only loads the model: no cloud loads one.
        let load = try await farm.json("POST", "/api/generate", body: #"{"model":"cloud-only"}"#)
        #expect(load.status == 404)
        #expect(load.body["error"] == "model 'cloud-only' not found", "\(load.body)")
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 0)
        // Embeddings with no input load the model too; each endpoint answers in its own words, as Ollama's do.
        let embed = try await farm.json("POST", "/api/embed", body: #"{"model":"cloud-only","input":""}"#)
        #expect(embed.status == 404)
        #expect(embed.body["error"] == #"model "cloud-only" not found, try pulling it first"#, "\(embed.body)")
        #expect(cloud.simulator.requestCount("/v1/embeddings") == 0)
    }

    @Test func anAliasNoNodeHasIsNotFoundInOllamasShapeNotAsEachTargetsFailure() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2"])]) { config in
            config.routes = [
                "nowhere": [.init(target: "ollama/mistral", weight: 100, priority: 0), .init(target: "phi3", weight: 100, priority: 1)]
            ]
        }
        try await farm.waitUntilAllHealthy()
        let chat = try await farm.json("POST", "/api/chat", body: #"{"model":"nowhere","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(chat.status == 404)
        #expect(chat.body["error"] == "model 'nowhere' not found", "\(chat.body)")
        let embeddings = try await farm.json("POST", "/api/embeddings", body: #"{"model":"nowhere","prompt":"hi"}"#)
        #expect(embeddings.status == 404)
        #expect(embeddings.body["error"] == #"model "nowhere" not found, try pulling it first"#, "\(embeddings.body)")
    }
}
