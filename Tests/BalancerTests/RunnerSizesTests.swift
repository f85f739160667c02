import Testing

@testable import Balancer

/// What a model takes once loaded (`/api/ps` `size`: weights, KV cache, graph), not its size on disk.
@Suite struct RunnerSizesTests {
    let pulled: [String: Int64] = ["llama3.2": 2, "mistral": 4, "qwen": 4]
    func name(_ text: String) -> ModelName { ModelName(text)! }
    func pulledModels() -> [ModelName: PulledModel] {
        Dictionary(
            uniqueKeysWithValues: pulled.map {
                (name($0.key), PulledModel(name: name($0.key), displayName: $0.key, sizeBytes: $0.value * gigabyte, digest: "d"))
            })
    }
    func loaded(_ model: String, _ bytes: Int64) -> LoadedModel {
        LoadedModel(name: name(model), sizeBytes: bytes, vramBytes: bytes, expiresAt: nil)
    }

    @Test func aModelSeenLoadedTakesWhatItTookAndOneNotSeenItsWeightsPlusTheLargestOverhead() {
        var sizes = RunnerSizes()
        #expect(sizes.bytes(of: name("qwen"), weights: 4 * gigabyte) == 4 * gigabyte)
        // Ollama's own example: mistral, 4.1 GB on disk, 5.1 GB loaded.
        sizes.learn(
            loaded: [loaded("mistral", 5 * gigabyte), loaded("llama3.2", 2 * gigabyte + gigabyte / 2)], pulled: pulledModels())
        #expect(sizes.overheadBytes == gigabyte)
        #expect(sizes.bytes(of: name("mistral"), weights: 4 * gigabyte) == 5 * gigabyte)
        #expect(sizes.bytes(of: name("llama3.2"), weights: 2 * gigabyte) == 2 * gigabyte + gigabyte / 2)
        #expect(sizes.bytes(of: name("qwen"), weights: 4 * gigabyte) == 5 * gigabyte)
    }

    @Test func thePlannerCountsWhatALoadedRunnerTakesNotItsWeights() {
        let demand: [ModelName: CapacityPlanner.Demand] = [
            name("llama3.2"): .init(rate: 2, serviceSeconds: 3), name("mistral"): .init(rate: 0.01, serviceSeconds: 3),
        ]
        let pulled: [String: Int64] = ["llama3.2": 2, "mistral": 4]
        // 7.5 GB each. By weights, 2 + 4 GB fit beside each other; loaded, each runner takes 1 GB more: 3 + 5 do not.
        let byWeights = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 7.5, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["mistral"], vramGB: 7.5),
        ]
        #expect(CapacityPlanner.plan(nodes: byWeights, demand: demand, now: 1000).map(\.evicting) == [[]])
        let asLoaded = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 7.5, maxLoaded: 1, runnerOverheadGB: 1),
            node(1, pulled: pulled, loaded: ["mistral"], vramGB: 7.5, runnerOverheadGB: 1),
        ]
        #expect(CapacityPlanner.plan(nodes: asLoaded, demand: demand, now: 1000).map(\.evicting) == [[name("mistral")]])
    }
}
