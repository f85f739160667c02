import Synchronization
import Testing

@testable import Balancer

/// What the capacity planner is told of each model's demand, read from a cluster of real node actors.
@Suite struct DemandSummaryTests {
    let hot = ModelName("llama3.2")!
    let unmeasured = ModelName("codellama:13b")!

    func makeCluster() async -> Cluster { await singleNodeCluster(pulled: [hot, unmeasured], maxParallel: 2) }

    /// A model asked for before any of its answers came back is as busy as the farm's other models,
    /// not as busy as the cost model's 5 s default: on a farm answering in 1.3 s that default made
    /// it look four times busier and took copies from models that needed them.
    @Test func aModelNotMeasuredYetTakesTheFarmsMedianServiceTime() async throws {
        let cluster = await makeCluster()
        await (try cluster.acquire(.init(model: unmeasured)).get()).release(RequestOutcome(succeeded: false))
        let farm = [
            node(0, pulled: ["llama3.2": 2, "phi3": 2, "gemma2": 3], service: ["llama3.2": 1.2, "phi3": 1.4]),
            node(1, pulled: ["gemma2": 3], service: ["gemma2": 1.3]),
        ]
        let summary = cluster.demandSummary(farm)
        #expect(summary[unmeasured]?.serviceSeconds == 1.3)
        #expect(summary[unmeasured]?.rate ?? 0 > 0)
    }

    /// Clients choose the names they send: a name no node holds is refused and leaves no demand
    /// behind, so a client sending a new name in every request cannot grow what every planner round reads.
    @Test func aModelNoNodeHoldsLeavesNoDemand() async throws {
        let cluster = await makeCluster()
        for index in 0..<50 {
            let result = await cluster.acquire(.init(model: ModelName("missing-\(index)")!))
            guard case .failure(.modelNotFound) = result else {
                Issue.record("\(result)")
                return
            }
        }
        await (try cluster.acquire(.init(model: hot)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        #expect(cluster.demandSummary(await cluster.snapshots()).keys.sorted() == [hot])
    }

    @Test func aMeasuredModelKeepsItsOwnServiceTime() async throws {
        let cluster = await makeCluster()
        await (try cluster.acquire(.init(model: hot)).get()).release(RequestOutcome(succeeded: false))
        let farm = [node(0, service: ["llama3.2": 2.5, "phi3": 1.0, "gemma2": 1.1])]
        #expect(cluster.demandSummary(farm)[hot]?.serviceSeconds == 2.5)
    }

    /// A burst after a steady stream reaches the planner twice: at face value, and read with
    /// caution, which a move that takes another model's copy is weighed on.
    @Test func aBurstReachesThePlannerWithItsCautiousReading() async throws {
        let now = Mutex(0.0)
        let config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)
        let cluster = Cluster(nodes: [config], random: SeededGenerator(state: 1), clock: { now.withLock { $0 } })
        let pulled = PulledModel(name: hot, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "d")
        await cluster.nodes[0].apply(
            ProbeReport(pulled: [pulled], loaded: []), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        await cluster.nodes[0].setHealth(.healthy)
        cluster.markFirstProbeRoundComplete()
        func ask(at moment: Double) async throws {
            now.withLock { $0 = moment }
            await (try cluster.acquire(.init(model: hot)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        }
        for index in 0..<90 { try await ask(at: Double(index) * 300 / 90) }  // 0.3/s
        for index in 0..<17 { try await ask(at: 300 + Double(index) * 10 / 17) }  // 17 in 10 s
        now.withLock { $0 = 310 }
        let demand = try #require(cluster.demandSummary(await cluster.snapshots())[hot])
        #expect(demand.rate > 1.5)
        let cautious = try #require(demand.cautiousRate)
        #expect(cautious > 0.3 && cautious < 1.2)
    }

    @Test func withNothingMeasuredTheCostModelsDefaultStands() async throws {
        let cluster = await makeCluster()
        await (try cluster.acquire(.init(model: unmeasured)).get()).release(RequestOutcome(succeeded: false))
        #expect(cluster.demandSummary([node(0)])[unmeasured]?.serviceSeconds == CostModel().defaultServiceSeconds)
    }
}
