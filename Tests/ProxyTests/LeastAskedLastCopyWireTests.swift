import Balancer
import Foundation
import Testing

@testable import Proxy

/// A node with room for two of three asked-for models: the one with no copy takes the place of the
/// least asked-for, over HTTP against a simulated node, even where the hot model reloads quicker.
@Suite(.stopsFarms) struct LeastAskedLastCopyWireTests {
    @Test func aModelWithNoCopyUnloadsTheRareModelNotTheHotModelThatReloadsQuicker() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // "hot" (1 GB, a 2 s reload) is asked for every second; "rare" (6 GB, 7 s) and "new" hardly ever.
        DemandStateFile(path: path).save([
            ModelName("hot")!: (rate: 1, serviceSeconds: 1), ModelName("rare")!: (rate: 0.06, serviceSeconds: 1),
            ModelName("new")!: (rate: 0.05, serviceSeconds: 1),
        ])
        let spec = TestFarm.NodeSpec(
            models: ["hot", "rare", "new"], preload: ["hot", "rare"], vramGB: 16, modelSizesGB: ["hot": 1, "rare": 6, "new": 2],
            ollamaMaxLoadedModels: 2)
        let logs = LogCapture()
        let farm = try await TestFarm.start([spec], logs: logs) { config in
            config.stateFile = path
            config.nodes[0].maxLoadedModels = 2
        }
        try await farm.waitUntilAllHealthy()
        let node = farm.nodes[0]
        let unloadsBefore = node.requestCount("/api/generate")
        #expect(try await farm.chat("new").status == 200)
        // TensorWall makes the room itself, with one unload sent before the load.
        #expect(node.requestCount("/api/generate") == unloadsBefore + 1, "\(logs.text)")
        #expect(node.lastBody("/api/generate")?["model"]?.stringValue == "rare:latest", "\(logs.text)")
        #expect(await node.loadsByModel()["hot:latest", default: 0] <= 1, "\(logs.text)")
    }
}
