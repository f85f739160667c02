import Testing

@testable import Balancer

/// A deterministic generator (SplitMix64) so placement is tested without chance.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func node(
    _ index: Int, health: NodeHealth = .healthy, pulled: [String] = ["llama3.2"], loaded: [String] = [], inFlight: [String: Int] = [:],
    weight: Int = 100, priority: Int = 0, maxParallel: Int = 2
) -> NodeSnapshot {
    let pulledModels = pulled.map { PulledModel(name: ModelName($0)!, displayName: $0, sizeBytes: 2_000_000_000, digest: "d") }
    let loadedModels = loaded.map { LoadedModel(name: ModelName($0)!, sizeBytes: 2_000_000_000, vramBytes: 2_000_000_000, expiresAt: nil) }
    return NodeSnapshot(
        index: index, name: "n\(index)", url: NodeURL("http://127.0.0.1:\(1000 + index)")!, weight: weight, priority: priority,
        maxParallel: maxParallel, health: health, pulled: Dictionary(uniqueKeysWithValues: pulledModels.map { ($0.name, $0) }),
        loaded: Dictionary(uniqueKeysWithValues: loadedModels.map { ($0.name, $0) }),
        inFlight: Dictionary(uniqueKeysWithValues: inFlight.map { (ModelName($0.key)!, $0.value) }), lastProbe: nil)
}

@Suite struct WarmFirstPlacementTests {
    let model = ModelName("llama3.2")!

    func choose(_ nodes: [NodeSnapshot], seed: UInt64 = 1, excluding: Set<Int> = []) -> Result<WarmFirstPlacement.Choice, PlacementFailure>
    {
        var random = SeededGenerator(state: seed)
        return WarmFirstPlacement.choose(model, among: nodes, excluding: excluding, using: &random)
    }

    @Test func prefersTheNodeWithTheModelLoadedAndASlotFree() {
        for seed in 0..<50 as Range<UInt64> {
            let result = choose([node(0), node(1, loaded: ["llama3.2"]), node(2)], seed: seed)
            #expect(result == .success(.init(nodeIndex: 1, warm: true)))
        }
    }

    @Test func aSaturatedWarmNodeLosesToAnIdleOne() {
        let result = choose([node(0), node(1, loaded: ["llama3.2"], inFlight: ["llama3.2": 2])])
        #expect(result == .success(.init(nodeIndex: 0, warm: false)))
    }

    @Test func lowerPriorityNumberIsUsedFirst() {
        for seed in 0..<20 as Range<UInt64> {
            let result = choose([node(0, loaded: ["llama3.2"], priority: 1), node(1, priority: 0)], seed: seed)
            #expect(result == .success(.init(nodeIndex: 1, warm: false)))
        }
    }

    @Test func theNextTierServesWhenTheFirstHasNoHealthyNode() {
        let result = choose([node(0, health: .unhealthy, priority: 0), node(1, priority: 1)])
        #expect(result == .success(.init(nodeIndex: 1, warm: false)))
    }

    @Test func weightSplitsLoadBetweenEquals() {
        var counts = [0, 0]
        var random = SeededGenerator(state: 7)
        let nodes = [node(0, loaded: ["llama3.2"], weight: 300), node(1, loaded: ["llama3.2"], weight: 100)]
        for _ in 0..<4000 {
            if case .success(let choice) = WarmFirstPlacement.choose(model, among: nodes, using: &random) { counts[choice.nodeIndex] += 1 }
        }
        #expect((2800...3200).contains(counts[0]), "\(counts)")
    }

    @Test func tiesAreBrokenAtRandomNotByOrder() {
        var chosen = Set<Int>()
        for seed in 0..<40 as Range<UInt64> {
            if case .success(let choice) = choose([node(0), node(1), node(2)], seed: seed) { chosen.insert(choice.nodeIndex) }
        }
        #expect(chosen == [0, 1, 2])
    }

    @Test func unknownModelAndUnhealthyHoldersAreDifferentFailures() {
        #expect(choose([node(0, pulled: ["mistral"])]) == .failure(.modelNotFound))
        #expect(choose([node(0, health: .unhealthy), node(1, pulled: [])]) == .failure(.noHealthyNode))
        #expect(choose([node(0, health: .unknown, pulled: [])]) == .failure(.noHealthyNode))
    }

    @Test func excludedNodesAreSkipped() {
        let result = choose([node(0, loaded: ["llama3.2"]), node(1)], excluding: [0])
        #expect(result == .success(.init(nodeIndex: 1, warm: false)))
    }
}

@Suite struct OllamaNodeTests {
    let model = ModelName("llama3.2")!
    let config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 1)

    @Test func inFlightNeverGoesNegativeAndWarmSlotsAreRechecked() async {
        let node = OllamaNode(index: 0, config: config)
        await node.setHealth(.healthy)
        #expect(await node.tryAcquire(model, requireWarmSlot: true) == false)  // not loaded
        #expect(await node.tryAcquire(model, requireWarmSlot: false))
        await node.release(model, servedSuccessfully: true)
        await node.release(model, servedSuccessfully: true)
        #expect(await node.snapshot().inFlight(model) == 0)
        // A served request taught the node that the model is loaded there.
        #expect(await node.snapshot().isLoaded(model))
        #expect(await node.tryAcquire(model, requireWarmSlot: true))
        #expect(await node.tryAcquire(model, requireWarmSlot: true) == false)  // maxParallel 1 taken
    }

    @Test func anUnhealthyNodeTakesNothing() async {
        let node = OllamaNode(index: 0, config: config)
        #expect(await node.tryAcquire(model, requireWarmSlot: false) == false)
    }
}
