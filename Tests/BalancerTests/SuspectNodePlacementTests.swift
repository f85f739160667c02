import Testing

@testable import Balancer

/// A node that failed one probe (`NodeHealth.suspect`) is priced as late by the time a second probe
/// takes to decide: new requests go to a warm slot elsewhere, but not to a cold load elsewhere.
@Suite struct SuspectNodePlacementTests {
    let model = ModelName("llama3.2")!

    func chosen(_ nodes: [NodeSnapshot], seed: UInt64) -> Int? {
        var random = SeededGenerator(state: seed)
        guard case .success(let estimate) = AffinityPlacement.choose(model, among: nodes, now: 100, using: &random) else { return nil }
        return estimate.nodeIndex
    }

    @Test func aWarmSlotElsewhereWinsOverASuspectNode() {
        let nodes = [node(0, health: .suspect, loaded: ["llama3.2"]), node(1, loaded: ["llama3.2"])]
        // Healthy, the two tie and split at random; with node 0 suspect every draw goes to node 1.
        #expect(Set((1...40).map { chosen(nodes, seed: $0) }) == [1])
        let bothHealthy = [node(0, loaded: ["llama3.2"]), node(1, loaded: ["llama3.2"])]
        #expect(Set((1...40).map { chosen(bothHealthy, seed: $0) }) == [0, 1])
    }

    @Test func aSuspectNodesWarmCopyStillBeatsAColdLoadElsewhere() {
        // Most suspects pass the second probe: a cold load (here 3 s for 2 GB) would cost more than
        // waiting to see.
        let nodes = [node(0, health: .suspect, loaded: ["llama3.2"]), node(1)]
        #expect(Set((1...20).map { chosen(nodes, seed: $0) }) == [0])
    }

    @Test func thePriceOfSuspicionIsNotAWait() throws {
        // A hedge's timer and a refusal's Retry-After are told the wait, which suspicion does not lengthen.
        var random = SeededGenerator(state: 1)
        let estimate = try AffinityPlacement.choose(
            model, among: [node(0, health: .suspect, loaded: ["llama3.2"])], now: 100, using: &random
        )
        .get()
        #expect(estimate.seconds == estimate.waitSeconds + CostModel().suspectNodeSeconds)
    }

    @Test func aSuspectNodeIsStillAHolderAndAnUnhealthyOneIsNot() {
        #expect(chosen([node(0, health: .suspect)], seed: 1) == 0)
        var random = SeededGenerator(state: 1)
        let result = AffinityPlacement.choose(model, among: [node(0, health: .unhealthy)], now: 100, using: &random)
        #expect(result == .failure(.noHealthyNode))
    }

    @Test func theModelBlindStrategiesTakeASuspectNodeOnlyWhenNoHealthyOneHoldsTheModel() {
        var random = SeededGenerator(state: 1)
        let mixed = [node(0, health: .suspect), node(1)]
        for rotation in 0..<4 {
            #expect(SimpleStrategy.choose(.roundRobin, model, among: mixed, rotation: rotation, using: &random) == .success(1))
        }
        #expect(SimpleStrategy.choose(.roundRobin, model, among: [node(0, health: .suspect)], rotation: 0, using: &random) == .success(0))
    }
}
