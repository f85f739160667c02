import Testing

@testable import Balancer

/// A request's context length counts towards the length of the loads made ahead of requests from
/// its arrival, as its demand does, not only once it is placed (`Cluster.acquire`).
@Suite struct ContextLengthAtArrivalTests {
    let model = ModelName("llama3.2")!

    /// At a cold start most requests wait in the queue for the first loads: counted only once placed,
    /// the next load is judged by the one request that started the first.
    @Test func queuedRequestsCountTowardsTheNextLoadsLength() async throws {
        let cluster = await singleNodeCluster(pulled: [model], queue: ClusterConfig.QueueSettings(maxLength: 8, maxWaitMs: 10_000))
        // The only slot: a load for a request that sets no length.
        let first = try await cluster.acquire(.init(model: model)).get()
        var queued: [Task<Result<Lease, PlacementFailure>, Never>] = []
        for count in 1...2 {
            queued.append(Task { await cluster.acquire(.init(model: model, contextLength: 8192)) })
            await waitUntil { cluster.queuedRequests(model) == count }
        }
        #expect(cluster.queuedRequests(model) == 2)
        let snapshot = await cluster.nodes[0].snapshot(index: 0)
        #expect(cluster.usualContextLength(model, on: snapshot) == 8192)
        await first.release(RequestOutcome(succeeded: true))
        for request in queued {
            if case .success(let lease) = await request.value { await lease.release(RequestOutcome(succeeded: true)) }
        }
    }
}
