import Testing

@testable import Balancer

/// A planned move is dropped when a request started a copy of its model while the planner worked.
@Suite struct OvertakenMovesTests {
    let qwen = ModelName("qwen2.5")!
    let llama = ModelName("llama3.2")!

    func move(_ model: ModelName, to node: Int) -> CapacityPlanner.Move {
        CapacityPlanner.Move(model: model, nodeIndex: node, evicting: [], predictedLoadSeconds: 5)
    }

    @Test func aMoveForAModelARequestStartedACopyOfMeanwhileIsDropped() {
        let pulled: [String: Int64] = ["qwen2.5": 5, "llama3.2": 2]
        let planned = [node(0, pulled: pulled, loaded: ["llama3.2"]), node(1, pulled: pulled)]
        let loading = LoadInProgress(startedAt: 100, predictedSeconds: 6)
        let now = [node(0, pulled: pulled, loaded: ["llama3.2"]), node(1, pulled: pulled, loading: ["qwen2.5": loading])]
        let (wanted, overtaken) = CapacityPlanner.movesStillWanted(
            [move(qwen, to: 0), move(llama, to: 1)], plannedFrom: planned, now: now)
        #expect(wanted == [move(llama, to: 1)])
        #expect(overtaken == [qwen])
    }

    @Test func movesStandWhenNothingWasAddedOrACopyWentAway() {
        let planned = [node(0, loaded: ["llama3.2"]), node(1, loaded: ["llama3.2"]), node(2)]
        let now = [node(0, loaded: ["llama3.2"]), node(1), node(2)]
        let moves = [move(llama, to: 2)]
        #expect(CapacityPlanner.movesStillWanted(moves, plannedFrom: planned, now: planned).wanted == moves)
        #expect(CapacityPlanner.movesStillWanted(moves, plannedFrom: planned, now: now).wanted == moves)
    }
}
