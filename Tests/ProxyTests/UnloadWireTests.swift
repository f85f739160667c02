import Balancer
import Testing
import WireFormats

@testable import Proxy

/// Ollama's unload (`ollama stop`; `ollama rm` sends it first) stops the model on the whole farm.
@Suite(.stopsFarms) struct UnloadWireTests {
    @Test(arguments: [
        ("/api/generate", #"{"model":"llama3.2","keep_alive":0}"#),
        ("/api/chat", #"{"model":"llama3.2","messages":[],"keep_alive":"0s"}"#),
    ])
    func anUnloadStopsEveryCopyAndLoadsNothing(path: String, body: String) async throws {
        let farm = try await TestFarm.start([
            .init(preload: ["llama3.2"]), .init(preload: ["llama3.2"]), .init(models: ["phi3"]),
        ])
        try await farm.waitUntilAllHealthy()
        #expect(await farm.eventually { await farm.nodes[1].loadedModelNames() == ["llama3.2:latest"] })
        let loadsBefore = await farm.nodes[0].loadCount() + farm.nodes[1].loadCount()
        let answer = try await farm.json("POST", path, body: body)
        #expect(answer.status == 200)
        #expect(answer.body["done_reason"] == "unload")
        #expect(answer.body["done"] == true)
        #expect(await farm.nodes[0].loadedModelNames() == [])
        #expect(await farm.nodes[1].loadedModelNames() == [])
        #expect(farm.nodes[2].requestCount(path) == 0)
        #expect(await farm.nodes[0].loadCount() + farm.nodes[1].loadCount() == loadsBefore)
        // Probed again before the answer: placement no longer counts the copies.
        let warm = try await farm.json("GET", "/status").body["nodes"]?.arrayValue?.map { $0["loadedModels"]?.arrayValue?.count ?? -1 }
        #expect(warm == [0, 0, 0])
    }

    /// Nothing warm anywhere: Ollama's unload loads nothing, so neither does the farm's.
    @Test func anUnloadOfAColdModelLoadsNothing() async throws {
        let farm = try await TestFarm.start([.init(), .init()])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/api/generate", body: #"{"model":"llama3.2","keep_alive":0}"#)
        #expect(answer.status == 200)
        #expect(answer.body["done_reason"] == "unload")
        #expect(await farm.nodes[0].loadCount() + farm.nodes[1].loadCount() == 0)
        let missing = try await farm.json("POST", "/api/generate", body: #"{"model":"nope","keep_alive":0}"#)
        #expect(missing.status == 404)
        #expect(missing.body == ["error": "model 'nope' not found"])
    }
}
