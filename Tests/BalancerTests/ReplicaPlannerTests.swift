import Testing

@testable import Balancer

@Suite struct ReplicaPlannerTests {
    let hot = ModelName("llama3.2")!

    /// Plans for a farm where `llama3.2` is asked for `rate` times a second and answers take 1 s.
    func plan(_ nodes: [NodeSnapshot], rate: Double, otherDemand: Double = 0, queued: Int = 0) -> [ReplicaPlanner.Plan] {
        ReplicaPlanner.plan(
            nodes: nodes, now: 100, costModel: CostModel(), demand: { $0 == hot ? rate : otherDemand }, queued: { $0 == hot ? queued : 0 })
    }

    @Test func aModelInDemandIsCopiedIntoFreeVRAMElsewhere() {
        let nodes = [
            node(0, loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 16),
            node(1, vramGB: 16),
        ]
        // 0.2 requests/s × 1 s over 2 slots: 10 % busy, enough to fill free VRAM.
        #expect(plan(nodes, rate: 0.2) == [ReplicaPlanner.Plan(model: hot, nodeIndex: 1, predictedLoadSeconds: 3)])
    }

    @Test func aModelNobodyAsksForIsNotCopied() {
        let nodes = [node(0, loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 16), node(1, vramGB: 16)]
        #expect(plan(nodes, rate: 0.01).isEmpty)
    }

    @Test func nodesWithoutKnownVRAMGetNoCopies() {
        let nodes = [node(0, loaded: ["llama3.2"], service: ["llama3.2": 1]), node(1)]
        #expect(plan(nodes, rate: 5).isEmpty)
    }

    @Test func aCopyEvictsAnIdleModelOnlyUnderPressure() {
        // Node 1 is full with an idle 2 GB model nobody has asked for lately.
        let nodes = [
            node(0, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 4),
            node(1, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["phi3"], vramGB: 2),
        ]
        #expect(plan(nodes, rate: 0.2).isEmpty)  // 10 % busy: not worth an eviction
        #expect(plan(nodes, rate: 1.5).map(\.nodeIndex) == [1])  // 75 % busy
        #expect(plan(nodes, rate: 0.2, queued: 3).map(\.nodeIndex) == [1])  // requests already queue
    }

    @Test func aCopyNeverEvictsABusyModelOrOneInDemand() {
        let busy = [
            node(0, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 4),
            node(1, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["phi3"], inFlight: ["phi3": 1], vramGB: 2),
        ]
        #expect(plan(busy, rate: 3).isEmpty)
        let wanted = [
            node(0, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 2),
            node(1, pulled: ["llama3.2": 2, "phi3": 2], loaded: ["phi3"], vramGB: 2),
        ]
        #expect(plan(wanted, rate: 3, otherDemand: 1).isEmpty)  // phi3 is its only copy and asked for every second
    }

    @Test func oneCopyAtATimeAndNoneOnANodeAlreadyLoading() {
        let loadingCopy = [
            node(0, loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 16),
            node(1, loading: ["llama3.2": LoadInProgress(startedAt: 99, predictedSeconds: 3)], vramGB: 16),
            node(2, vramGB: 16),
        ]
        #expect(plan(loadingCopy, rate: 3).isEmpty)
        let nodeBusyLoading = [
            node(0, loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 16),
            node(1, pulled: ["llama3.2": 2, "phi3": 2], loading: ["phi3": LoadInProgress(startedAt: 99, predictedSeconds: 3)], vramGB: 16),
        ]
        #expect(plan(nodeBusyLoading, rate: 3).isEmpty)
    }

    @Test func copiesStayInTheModelsBestPriorityTier() {
        let nodes = [
            node(0, loaded: ["llama3.2"], service: ["llama3.2": 1], vramGB: 16),
            node(1, priority: 1, vramGB: 16),
        ]
        #expect(plan(nodes, rate: 3).isEmpty)
    }
}
