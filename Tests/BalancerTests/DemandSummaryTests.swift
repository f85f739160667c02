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

    @Test func aMeasuredModelKeepsItsOwnServiceTime() async throws {
        let cluster = await makeCluster()
        await (try cluster.acquire(.init(model: hot)).get()).release(RequestOutcome(succeeded: false))
        let farm = [node(0, service: ["llama3.2": 2.5, "phi3": 1.0, "gemma2": 1.1])]
        #expect(cluster.demandSummary(farm)[hot]?.serviceSeconds == 2.5)
    }

    @Test func withNothingMeasuredTheCostModelsDefaultStands() async throws {
        let cluster = await makeCluster()
        await (try cluster.acquire(.init(model: unmeasured)).get()).release(RequestOutcome(succeeded: false))
        #expect(cluster.demandSummary([node(0)])[unmeasured]?.serviceSeconds == CostModel().defaultServiceSeconds)
    }
}
