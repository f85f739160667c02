import Balancer
import Foundation
import Testing
import WireFormats

@testable import Proxy

/// A farm with fewer places than its demand calls for: `/status` counts each model's copies without
/// a place, and the log tells the operator what would make room.
@Suite(.stopsFarms) struct RoomShortfallWireTests {
    @Test func twoNodesOfOneModelEachForThreeModelsInDemandAreShownShortAndTheOperatorIsTold() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // The hot model wants several copies; the other two one each.
        let hot = ModelName("llama3.2")!
        DemandStateFile(path: path).save([
            hot: (rate: 2, serviceSeconds: 3), ModelName("qwen2.5")!: (rate: 0.2, serviceSeconds: 3),
            ModelName("phi3")!: (rate: 0.2, serviceSeconds: 3),
        ])
        let logs = LogCapture()
        let spec = TestFarm.NodeSpec(models: ["llama3.2", "qwen2.5", "phi3"], vramGB: 16)
        let farm = try await TestFarm.start([spec, spec], logs: logs) { config in
            config.stateFile = path
            for index in config.nodes.indices { config.nodes[index].maxLoadedModels = 1 }
        }
        try await farm.waitUntilAllHealthy()
        var hotEntry: JSONValue?
        let shown = await farm.eventually {
            let models = try? await farm.json("GET", "/status").body["models"]?.arrayValue
            hotEntry = models?.first { $0["name"]?.stringValue == "llama3.2:latest" }
            return (hotEntry?["copiesWithoutRoom"]?.intValue ?? 0) >= 1
        }
        #expect(shown, "\(String(describing: hotEntry))")
        let told = await farm.eventually { logs.text.contains("no place on the farm for every copy its demand calls for: ") }
        #expect(told, "\(logs.text)")
        #expect(logs.text.contains("(the 2 healthy nodes hold at most 2 models at once, fewer where the VRAM is full)"))
        #expect(logs.text.contains("llama3.2:latest gets 1 of the "), "\(logs.text)")
    }

    @Test func aFarmWithRoomForItsDemandShowsNoneShortAndSaysNothing() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        DemandStateFile(path: path).save([
            ModelName("llama3.2")!: (rate: 0.5, serviceSeconds: 1), ModelName("qwen2.5")!: (rate: 0.2, serviceSeconds: 1),
        ])
        let logs = LogCapture()
        let spec = TestFarm.NodeSpec(models: ["llama3.2", "qwen2.5"], vramGB: 16)
        let farm = try await TestFarm.start([spec, spec], logs: logs) { config in config.stateFile = path }
        try await farm.waitUntilAllHealthy()
        await farm.gateway.monitor.waitForRounds(RoomShortfall.roundsBeforeSaying + 2)
        let models = try await farm.json("GET", "/status").body["models"]?.arrayValue ?? []
        #expect(models.count == 2)
        for model in models { #expect(model["copiesWithoutRoom"]?.intValue == 0, "\(model)") }
        #expect(!logs.text.contains("no place on the farm"))
    }
}
