import Testing

@testable import Balancer

/// Node paces split from learned service times, and what the planner makes of a slow node.
@Suite struct NodePacesTests {
    let llama = ModelName("llama3.2")!
    let phi = ModelName("phi3")!
    let mistral = ModelName("mistral")!

    /// Four like nodes whose answers differ by the noise of their lengths plan as one pace.
    @Test func likeNodesShareOnePaceAndKeepTheMeanServiceTime() {
        let farm = [
            node(0, service: ["llama3.2": 1.0, "phi3": 1.5]), node(1, service: ["llama3.2": 1.2, "phi3": 1.3]),
            node(2, service: ["llama3.2": 0.9, "phi3": 1.8]), node(3, service: ["llama3.2": 1.3]),
        ]
        let paces = NodePaces(farm)
        #expect(paces.isUniform)
        #expect(paces.typicalServiceSeconds(llama) == (1.0 + 1.2 + 0.9 + 1.3) / 4)
    }

    /// One node four times slower on the models it shares: its pace is 4, the others' 1, and a model
    /// measured only there is timed at the typical pace.
    @Test func aThrottledNodesPaceIsLearnedFromTheModelsItShares() throws {
        let farm = [
            node(0, service: ["llama3.2": 1.0, "phi3": 2.0]), node(1, service: ["llama3.2": 1.1, "phi3": 1.9]),
            node(2, service: ["llama3.2": 0.9]), node(3, service: ["llama3.2": 4.0, "phi3": 8.0, "mistral": 12.0]),
        ]
        let paces = NodePaces(farm)
        let slow = paces.pace(ofNode: 3)
        #expect(slow > 3.6 && slow < 4.4, "\(slow)")
        #expect(paces.pace(ofNode: 0) == 1 && paces.pace(ofNode: 2) == 1)
        let typical = try #require(paces.typicalServiceSeconds(llama))
        #expect(typical > 0.95 && typical < 1.05, "\(typical)")
        let alone = try #require(paces.typicalServiceSeconds(mistral))
        #expect(alone > 2.7 && alone < 3.3, "\(alone)")
    }

    /// The planner is told each model's time on a typical node: a model shared with the slow node is
    /// not made busier by it, nor one held only there (the planner counts that copy as a part of one).
    @Test func theDemandSummaryTimesAModelOnATypicalNode() async throws {
        let cluster = await singleNodeCluster(pulled: [llama, mistral], maxParallel: 2)
        for model in [llama, mistral] {
            await (try cluster.acquire(.init(model: model)).get()).release(RequestOutcome(succeeded: false))
        }
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]
        let farm = [
            node(0, pulled: pulled, loaded: ["llama3.2"], service: ["llama3.2": 1.0, "phi3": 2.0, "mistral": 3.0]),
            node(1, pulled: pulled, loaded: ["llama3.2"], service: ["llama3.2": 1.0, "phi3": 2.0]),
            node(2, pulled: pulled, loaded: ["llama3.2"], service: ["llama3.2": 1.0, "phi3": 2.0]),
            node(3, pulled: pulled, loaded: ["mistral"], service: ["llama3.2": 4.0, "phi3": 8.0, "mistral": 12.0]),
        ]
        let summary = cluster.demandSummary(farm)
        // The plain mean over the nodes was 1.75 s and 7.5 s.
        let shared = try #require(summary[llama]?.serviceSeconds)
        #expect(abs(shared - 1.0) < 0.05, "\(shared)")
        let heldOnTheSlowNode = try #require(summary[mistral]?.serviceSeconds)
        #expect(abs(heldOnTheSlowNode - 3.0) < 0.15, "\(heldOnTheSlowNode)")
    }

    /// A model whose only copy is on a node four times slower is saturated there, though one copy
    /// on a typical node would serve it: the planner adds a copy on a typical node.
    @Test func aModelWhoseOnlyCopyIsOnASlowNodeGetsOneOnATypicalNode() {
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]
        let service = ["llama3.2": 1.0, "phi3": 1.0]
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], service: service, vramGB: 16),
            node(1, pulled: pulled, loaded: ["phi3"], service: service, vramGB: 16),
            node(2, pulled: pulled, loaded: ["mistral"], service: service.mapValues { $0 * 4 }.merging(["mistral": 6]) { $1 }, vramGB: 16),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            llama: .init(rate: 0.3, serviceSeconds: 1), phi: .init(rate: 0.05, serviceSeconds: 1),
            mistral: .init(rate: 0.1, serviceSeconds: 1.5),
        ]
        // At a typical node's 1.5 s one copy's two slots serve 0.1/s with room to spare; at 6 s they are 30 % busy and requests wait.
        #expect(CapacityPlanner.wantedCopies(mistral, demand[mistral]!, holders: 3, slotsPerCopy: 2) == 1)
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.contains { $0.model == mistral && $0.nodeIndex != 2 }, "\(moves)")
    }

    /// Of two nodes with free room, a hot model's next copy goes to the one that answers at the
    /// farm's pace, though the slow one is idler (which breaks ties between like nodes).
    @Test func aNewCopyGoesToTheNodeThatAnswersFaster() {
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], service: ["llama3.2": 1.0, "phi3": 1.0], vramGB: 16),
            node(1, pulled: pulled, loaded: ["phi3"], inFlight: ["phi3": 1], service: ["llama3.2": 1.0, "phi3": 1.0], vramGB: 16),
            node(2, pulled: pulled, loaded: ["phi3"], service: ["llama3.2": 4.0, "phi3": 4.0], vramGB: 16),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            llama: .init(rate: 2.5, serviceSeconds: 1), phi: .init(rate: 0.05, serviceSeconds: 1),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.first(where: { $0.model == llama })?.nodeIndex == 1, "\(moves)")
    }

    /// A model that must make way on one of two full nodes gives up the copy on the slow node: the
    /// copy left on the fast one serves four times as many requests.
    @Test func aCopyOnTheSlowNodeIsTheCheaperToUnload() {
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]
        let service = ["llama3.2": 1.0, "phi3": 1.0, "mistral": 1.0]
        let slowService = service.mapValues { $0 * 4 }
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], service: service, vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["mistral"], inFlight: ["mistral": 2], service: service, vramGB: 16, maxLoaded: 1),
            node(2, pulled: pulled, loaded: ["llama3.2"], service: slowService, vramGB: 16, maxLoaded: 1),
            node(3, pulled: pulled, loaded: ["phi3"], service: service, vramGB: 16, maxLoaded: 1),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            llama: .init(rate: 0.6, serviceSeconds: 1.6), phi: .init(rate: 0.02, serviceSeconds: 1),
            mistral: .init(rate: 2.2, serviceSeconds: 1, queued: 3),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        let unloadsLlama = moves.filter { $0.model == mistral && $0.evicting == [llama] }
        #expect(unloadsLlama.allSatisfy { $0.nodeIndex == 2 }, "\(moves)")
        #expect(!moves.contains { $0.model == mistral && $0.nodeIndex == 0 }, "\(moves)")
    }

    /// A model with one copy wanted and copies on a slow node and a typical one: the target keeps
    /// the typical one, though the slow node comes first in the file.
    @Test func theTargetKeepsTheCopyOnTheQuickerNode() {
        let demand: [ModelName: CapacityPlanner.Demand] = [
            llama: .init(rate: 0.05, serviceSeconds: 1), phi: .init(rate: 0.05, serviceSeconds: 1),
        ]
        let target = CapacityPlanner.targetLayout(nodes: farmWithASlowFirstNode(holding: "llama3.2"), demand: demand, now: 1000)
        #expect(target[1]?.contains(llama) == true, "\(target)")
        #expect(target[0]?.contains(llama) != true, "\(target)")
    }

    /// A model whose only copy is on a slow node is not kept there by the target when a typical
    /// node has room: moving it is then a step toward the target.
    @Test func theTargetDoesNotKeepAModelOnASlowNodeForHoldingItThere() {
        let demand: [ModelName: CapacityPlanner.Demand] = [
            llama: .init(rate: 0.05, serviceSeconds: 1), phi: .init(rate: 0.05, serviceSeconds: 1),
            mistral: .init(rate: 0.1, serviceSeconds: 1.5),
        ]
        let target = CapacityPlanner.targetLayout(nodes: farmWithASlowFirstNode(holding: "mistral"), demand: demand, now: 1000)
        #expect(target[0]?.contains(mistral) != true, "\(target)")
        #expect(target[1]?.contains(mistral) == true || target[2]?.contains(mistral) == true, "\(target)")
    }

    /// Three 16 GB nodes: the first, four times slower than the others, holds `slowHolds`; the second
    /// holds `llama3.2` and the third `phi3`. The first comes first in the file, so a target that
    /// broke ties by order alone would keep what it holds.
    private func farmWithASlowFirstNode(holding slowHolds: String) -> [NodeSnapshot] {
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 7]
        let service = ["llama3.2": 1.0, "phi3": 1.0]
        return [
            node(0, pulled: pulled, loaded: [slowHolds], service: service.mapValues { $0 * 4 }, vramGB: 16),
            node(1, pulled: pulled, loaded: ["llama3.2"], service: service, vramGB: 16),
            node(2, pulled: pulled, loaded: ["phi3"], service: service, vramGB: 16),
        ]
    }
}
