import Testing

@testable import Balancer

@Suite struct WarmListPlannerTests {
    let model = ModelName("llama3.2")!

    private func plan(_ wanted: Int, _ nodes: [NodeSnapshot]) -> [Int] {
        WarmListPlanner.loads(for: [(model, wanted)], nodes: nodes, now: 100, costModel: CostModel()).map(\.nodeIndex)
    }

    @Test func loadsOnlyTheCopiesThatAreMissing() {
        #expect(plan(2, [node(0, loaded: ["llama3.2"]), node(1), node(2)]) == [1])
        #expect(plan(1, [node(0, loaded: ["llama3.2"]), node(1)]) == [])
        // A load under way counts as a copy.
        #expect(plan(2, [node(0, loading: ["llama3.2": LoadInProgress(startedAt: 99, predictedSeconds: 5)]), node(1)]) == [1])
    }

    @Test func skipsNodesThatAreDownOrLackTheModel() {
        #expect(plan(3, [node(0, health: .unhealthy), node(1, pulled: [:]), node(2)]) == [2])
    }

    @Test func prefersTheQuickestLoad() {
        let slow = node(0, loadRate: 5)  // 5 s/GB
        let fast = node(1, loadRate: 0.5)
        #expect(plan(1, [slow, fast]) == [1])
    }

    @Test func neverPlansALoadThatCannotStartNow() {
        // Three busy models fill the node's loaded-model cap: the load would have to wait.
        let full = node(
            0, pulled: ["llama3.2": 2, "a": 2, "b": 2, "c": 2], loaded: ["a", "b", "c"], inFlight: ["a": 1, "b": 1, "c": 1], maxLoaded: 3)
        #expect(plan(1, [full]) == [])
    }
}
