import Balancer
import OllamaSimulator
import Testing

@testable import Proxy

/// A node started with `OLLAMA_MAX_LOADED_MODELS=2` behind a `cluster.json` that keeps the default
/// of 3: over HTTP against a simulated node that unloads its least recently used model past its cap.
@Suite(.stopsFarms) struct LoadedModelsCapWireTests {
    static let cappedNode = TestFarm.NodeSpec(
        models: ["big1", "big2", "s1", "s2", "s3"], vramGB: 16, modelSizesGB: ["big1": 5, "big2": 5, "s1": 1, "s2": 1, "s3": 1],
        ollamaMaxLoadedModels: 2)

    /// Chats with `model`, then waits until a probe of `/api/ps` sent after the answer has been read
    /// (one more after it was sent) and `/status` shows what the node holds.
    /// `node` is the simulator serving the farm's node 0 (a restarted one; the farm's own by default).
    func chat(_ farm: TestFarm, _ model: String, node: OllamaSimulator? = nil) async throws {
        let node = node ?? farm.nodes[0]
        #expect(try await farm.chat(model).status == 200)
        let probes = node.requestCount("/api/ps")
        #expect(await farm.eventually { node.requestCount("/api/ps") >= probes + 2 })
        var loaded: Set<String> = []
        var onTheNode: Set<String> = []
        let agreed = await farm.eventually {
            let nodes = try? await farm.json("GET", "/status").body["nodes"]
            loaded = Set(nodes?[0]?["loadedModels"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            onTheNode = Set(await node.loadedModelNames())
            return loaded == onTheNode
        }
        #expect(agreed, "after \(model), /status shows \(loaded), the node holds \(onTheNode)")
    }

    @Test func unloadsTheVRAMCannotExplainTeachTheCapAndTensorWallMakesTheRoomItself() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([Self.cappedNode], logs: logs)
        try await farm.waitUntilAllHealthy()
        try await chat(farm, "big1")
        try await chat(farm, "big2")  // 10 GB held
        // By the config's cap of 3, each fits beside the two loaded; the node unloads one of its own choosing.
        for model in ["s1", "s2", "s3"] { try await chat(farm, model) }
        #expect(await farm.nodes[0].evictionCount() >= 2)
        let node = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(node?["maxLoadedModels"]?.intValue == 2)
        #expect(node?["maxLoadedModelsFrom"]?.stringValue == "ollama cap")
        #expect(node?["vramBytes"]?.intValue == 16_000_000_000)
        #expect(logs.text.contains("so its OLLAMA_MAX_LOADED_MODELS is 2; set maxLoadedModels to 2 in cluster.json"), "\(logs.text)")
        // Now TensorWall unloads a model before the next load, and the node has nothing to choose.
        let evictions = await farm.nodes[0].evictionCount()
        let unloads = farm.nodes[0].requestCount("/api/generate")
        let held = await farm.nodes[0].loadedModelNames()
        let absent = try #require(["big1", "big2", "s1", "s2", "s3"].first { !held.contains("\($0):latest") })
        try await chat(farm, absent)
        #expect(await farm.nodes[0].evictionCount() == evictions, "\(logs.text)")
        #expect(farm.nodes[0].requestCount("/api/generate") == unloads + 1)
        #expect(await farm.nodes[0].loadedModelNames().count == 2)
    }

    /// The node held three models, then was restarted with `OLLAMA_MAX_LOADED_MODELS=2` on the same
    /// address: what it showed before it went out of service must not rule the cap out.
    @Test func aNodeRestartedWithALowerCapIsReadAsCapped() async throws {
        let logs = LogCapture()
        var roomy = Self.cappedNode
        roomy.ollamaMaxLoadedModels = 3
        let farm = try await TestFarm.start([roomy], logs: logs)
        try await farm.waitUntilAllHealthy()
        for model in ["big1", "big2", "s1"] { try await chat(farm, model) }
        #expect(await farm.nodes[0].loadedModelNames().count == 3)
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        var settings = SimulatorConfiguration(
            name: "node0", models: roomy.models.map { SimulatedModel($0, sizeGB: roomy.modelSizesGB[$0] ?? 2) })
        settings.timeScale = 0.001
        settings.loadSecondsPerGB = roomy.loadSecondsPerGB
        settings.numParallel = roomy.numParallel
        settings.vramBytes = 16_000_000_000
        settings.maxLoadedModels = 2
        settings.port = farm.nodes[0].port
        let restarted = OllamaSimulator(settings)
        try restarted.start()
        Teardown.add { restarted.stop() }
        #expect(await farm.eventually { await farm.health(of: 0) == .healthy })
        try await chat(farm, "big1", node: restarted)
        try await chat(farm, "big2", node: restarted)
        for model in ["s1", "s2", "s3"] { try await chat(farm, model, node: restarted) }
        #expect(await restarted.evictionCount() >= 2)
        let node = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(node?["maxLoadedModels"]?.intValue == 2, "\(logs.text)")
        #expect(node?["maxLoadedModelsFrom"]?.stringValue == "ollama cap")
    }
}
