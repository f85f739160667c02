import Testing

@testable import Balancer

/// Placement prices a cold load only on nodes whose load alone could still win against the nodes
/// holding the model (`AffinityPlacement.coldLoadCutoff`). These tests show that it chooses exactly
/// what pricing every node chooses, on random farms in every state a request can meet: free and
/// busy warm slots, loads under way, slow and fast disks, tiers, weights and queues.
@Suite struct ColdLoadCutoffTests {
    struct Case {
        let nodes: [NodeSnapshot]
        let model: ModelName
        let demand: [ModelName: Double]
        let excluding: Set<Int>
        let conversationNode: Int?
        let queuedAhead: Int
    }

    static let now = 100.0

    /// A farm of 2-12 nodes and 3-8 models, each node in a random state.
    static func randomCase(seed: UInt64) -> Case {
        var random = FastRandom(seed: seed)
        func unit() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        func below(_ bound: Int) -> Int { Int(unit() * Double(bound)) }
        let names = (0..<(3 + below(6))).map { "m\($0)" }
        var sizes: [String: Int64] = [:]
        for name in names { sizes[name] = Int64(1 + below(8)) }
        let nodes = (0..<(2 + below(11))).map { index -> NodeSnapshot in
            let maxLoaded = 1 + below(4)
            let maxParallel = 1 + below(4)
            let pulled = sizes.filter { _ in unit() < 0.85 }
            var loaded: [String] = []
            for name in pulled.keys.sorted() where loaded.count < maxLoaded && unit() < 0.5 { loaded.append(name) }
            var loading: [String: LoadInProgress] = [:]
            if let name = pulled.keys.sorted().first(where: { !loaded.contains($0) }), loaded.count < maxLoaded, unit() < 0.3 {
                loading[name] = LoadInProgress(startedAt: now - unit() * 10, predictedSeconds: unit() * 15)
            }
            var inFlight: [String: Int] = [:]
            var service: [String: Double] = [:]
            var loadedAt: [String: Double] = [:]
            for name in loaded + loading.keys {
                inFlight[name] = below(maxParallel + 3)
                if unit() < 0.8 { service[name] = 0.2 + unit() * 8 }
                loadedAt[name] = now - unit() * 200
            }
            return node(
                index, health: unit() < 0.9 ? .healthy : .unhealthy, pulled: pulled, loaded: loaded, loading: loading,
                inFlight: inFlight, service: service, weight: 1 + below(200), priority: unit() < 0.8 ? 0 : 1,
                maxParallel: maxParallel, vramGB: unit() < 0.7 ? Double(8 + below(40)) : nil, maxLoaded: maxLoaded,
                loadRate: unit() < 0.7 ? 0.1 + unit() * 5 : nil, loadedAt: loadedAt)
        }
        let demand = Dictionary(uniqueKeysWithValues: names.map { (ModelName($0)!, unit() < 0.3 ? 0 : unit() * 4) })
        let excluding = Set(nodes.indices.filter { _ in unit() < 0.1 })
        return Case(
            nodes: nodes, model: ModelName(names[below(names.count)])!, demand: demand, excluding: excluding,
            conversationNode: unit() < 0.3 ? below(nodes.count) : nil, queuedAhead: unit() < 0.5 ? 0 : below(30))
    }

    @Test func theChoiceIsTheOnePricingEveryNodeMakes() async {
        var skippedSomewhere = 0
        var claims: Set<String> = []
        for seed in UInt64(1)...4_000 {
            // Seconds of CPU in a debug build: each seed gives the cooperative pool back (`Task.yield`), or
            // the wire tests beside it (two pool threads on two cores) starve past their servers' timeouts.
            await Task.yield()
            let test = Self.randomCase(seed: seed)
            func choice(pricingEveryNode: Bool) -> Result<CostModel.Estimate, PlacementFailure> {
                var random = FastRandom(seed: seed)
                return AffinityPlacement.choose(
                    test.model, among: test.nodes, excluding: test.excluding, conversationNode: test.conversationNode, now: Self.now,
                    demand: { test.demand[$0] ?? 0 }, queuedAhead: test.queuedAhead, pricingEveryNode: pricingEveryNode,
                    using: &random)
            }
            func soonest(pricingEveryNode: Bool) -> CostModel.Estimate? {
                AffinityPlacement.soonest(
                    test.model, among: test.nodes, excluding: test.excluding, now: Self.now, demand: { test.demand[$0] ?? 0 },
                    queuedAhead: test.queuedAhead, pricingEveryNode: pricingEveryNode)
            }
            let pruned = choice(pricingEveryNode: false)
            #expect(pruned == choice(pricingEveryNode: true), "seed \(seed)")
            #expect(soonest(pricingEveryNode: false) == soonest(pricingEveryNode: true), "seed \(seed)")
            if case .success(let estimate) = pruned { claims.insert("\(estimate.claim)".prefix(8).description) }
            if let priced = Self.pricedCount(test, pricingEveryNode: false), let all = Self.pricedCount(test, pricingEveryNode: true),
                priced < all
            {
                skippedSomewhere += 1
            }
        }
        // The farms exercise the cutoff, and every kind of choice comes out of them.
        #expect(skippedSomewhere > 500)
        #expect(claims.count == 3, "\(claims)")
    }

    /// How many nodes were priced for the case's request.
    static func pricedCount(_ test: Case, pricingEveryNode: Bool) -> Int? {
        guard
            case .success(let found) = AffinityPlacement.candidateEstimates(
                test.model, among: test.nodes, excluding: test.excluding, now: now, costModel: CostModel(),
                demand: { test.demand[$0] ?? 0 }, queuedAhead: test.queuedAhead, pricingEveryNode: pricingEveryNode)
        else { return nil }
        return found.estimates.count
    }

    @Test func aFreeWarmSlotLeavesTheOtherNodesUnpriced() {
        // One node holds the model with a slot free; the other three could only load it cold.
        let nodes = [node(0, loaded: ["llama3.2"])] + (1...3).map { node($0, pulled: ["llama3.2": 2, "other": 2], loaded: ["other"]) }
        let test = Case(nodes: nodes, model: ModelName("llama3.2")!, demand: [:], excluding: [], conversationNode: nil, queuedAhead: 0)
        #expect(Self.pricedCount(test, pricingEveryNode: false) == 1)
        #expect(Self.pricedCount(test, pricingEveryNode: true) == 4)
    }

    @Test func aBusyModelStillPricesColdLoadsThatBeatItsQueue() {
        // Both slots of the only copy are busy with 5 s answers and ten requests wait: a 3 s load elsewhere wins.
        let nodes = [
            node(0, loaded: ["llama3.2"], inFlight: ["llama3.2": 2], service: ["llama3.2": 5]),
            node(1, pulled: ["llama3.2": 2], loadRate: 1),
        ]
        let test = Case(nodes: nodes, model: ModelName("llama3.2")!, demand: [:], excluding: [], conversationNode: nil, queuedAhead: 10)
        #expect(Self.pricedCount(test, pricingEveryNode: false) == 2)
        var random = FastRandom(seed: 1)
        let chosen = AffinityPlacement.choose(
            test.model, among: nodes, now: Self.now, queuedAhead: test.queuedAhead, using: &random)
        #expect((try? chosen.get())?.nodeIndex == 1)
    }
}
