import Synchronization
import Testing

@testable import Balancer

/// A model with no copy anywhere can only come in past the models a load would unload. When those
/// are busy with a queue of their own, the request is refused at once instead of queueing toward a 503.
@Suite struct BusyVictimShedTests {
    let busy = ModelName("llama3.2")!
    let absent = ModelName("qwen2.5")!

    /// One node with one slot and room for one model.
    func makeCluster() async -> Cluster {
        await singleNodeCluster(pulled: [busy, absent], maxLoaded: 1, queue: ClusterConfig.QueueSettings(maxLength: 32, maxWaitMs: 30_000))
    }

    func waitUntil(_ condition: () -> Bool) async {
        for _ in 0..<10_000 where !condition() { try? await Task.sleep(for: .milliseconds(1)) }
    }

    @Test(arguments: [(queuedForBusy: 7, refused: true), (0, false)])
    func aLoadThatWaitsForABusyModelsQueueIsRefusedAtOnce(queuedForBusy: Int, refused: Bool) async throws {
        let cluster = await makeCluster()
        // Both models have answered before (3 s each), so their service times are measured.
        await (try cluster.acquire(.init(model: absent)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        await (try cluster.acquire(.init(model: busy)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        let holding = try await cluster.acquire(.init(model: busy)).get()
        var waiters: [Task<Void, any Error>] = []
        for number in 0..<queuedForBusy {
            waiters.append(
                Task {
                    let lease = try await cluster.acquire(.init(model: busy)).get()
                    await lease.release(RequestOutcome(succeeded: true))
                })
            await waitUntil { cluster.queuedRequests(busy) == number + 1 }
        }
        #expect(cluster.queuedRequests(busy) == queuedForBusy)
        // A load of qwen2.5 must wait for llama3.2's request and then for its queue of 7 (21 s): with
        // the load and the busy request that is past 80 % of the 30 s limit.
        let attempt = Task { await cluster.acquire(.init(model: absent)) }
        if refused {
            let result = await attempt.value
            guard case .failure(.overloaded(let predicted, let retryAfter)) = result else {
                Issue.record("expected an overloaded refusal, got \(result)")
                return
            }
            #expect(predicted > 24 && retryAfter >= 1)
        } else {
            await waitUntil { cluster.queuedRequests(absent) == 1 }
            #expect(cluster.queuedRequests(absent) == 1)  // an idle queue behind the busy model: worth waiting for
        }
        await holding.release(RequestOutcome(succeeded: true))
        for waiter in waiters { try await waiter.value }
        if !refused { await (try attempt.value.get()).release(RequestOutcome(succeeded: true)) }
    }
}
