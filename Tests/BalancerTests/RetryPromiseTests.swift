import Synchronization
import Testing

@testable import Balancer

@Suite struct RetryPromisesTests {
    let model = ModelName("llama3.2")!
    let other = ModelName("phi3")!

    @Test func aPromiseHoldsAPlaceUntilItsRetryComesBackOrItsGraceEnds() {
        var promises = RetryPromises()
        promises.promise(7, model: model, now: 100, retryAfterSeconds: 2)
        let seen1 = promises.outstanding(model, now: 101)
        #expect(seen1 == 1)
        let seen2 = promises.outstanding(other, now: 101)
        #expect(seen2 == 0)
        // Three seconds of grace after the two it was told, then the place is given up.
        let seen3 = promises.outstanding(model, now: 104.9)
        #expect(seen3 == 1)
        let seen4 = promises.outstanding(model, now: 105.1)
        #expect(seen4 == 0)
        let seen5 = promises.redeem(7, model: model, now: 105.1)
        #expect(!seen5)
    }

    @Test func aRetryRedeemsItsPromiseOnceAndOnlyForItsModel() {
        var promises = RetryPromises()
        promises.promise(7, model: model, now: 0, retryAfterSeconds: 1)
        let seen6 = promises.redeem(8, model: model, now: 1)
        #expect(!seen6)
        let seen7 = promises.redeem(7, model: model, now: 1)
        #expect(seen7)
        let seen8 = promises.redeem(7, model: model, now: 1)
        #expect(!seen8)
        let seen9 = promises.outstanding(model, now: 1)
        #expect(seen9 == 0)
        promises.promise(9, model: model, now: 0, retryAfterSeconds: 1)
        let seen10 = promises.redeem(9, model: other, now: 1)
        #expect(!seen10)
    }

    @Test func pastItsCapacityThePromiseExpiringSoonestGoes() {
        var promises = RetryPromises(capacity: 2)
        promises.promise(1, model: model, now: 0, retryAfterSeconds: 10)
        promises.promise(2, model: model, now: 0, retryAfterSeconds: 1)
        promises.promise(3, model: model, now: 0, retryAfterSeconds: 5)
        let seen11 = promises.outstanding(model, now: 0)
        #expect(seen11 == 2)
        let seen12 = promises.redeem(2, model: model, now: 1)
        #expect(!seen12)
        let seen13 = promises.redeem(1, model: model, now: 1)
        #expect(seen13)
    }
}

/// A refused request that comes back when its Retry-After told finds its place kept, through real
/// node actors (no sockets): one slot, answers of 3 s, a 10 s maximum wait (refused above 8 s).
@Suite struct RetryPromiseClusterTests {
    let model = ModelName("llama3.2")!

    func makeCluster() async -> Cluster {
        let config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 1)
        let cluster = Cluster(
            nodes: [config], queue: ClusterConfig.QueueSettings(maxLength: 8, maxWaitMs: 10_000), random: SeededGenerator(state: 1),
            clock: { 0 })
        let pulled = PulledModel(name: model, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "d")
        let loaded = LoadedModel(name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil)
        await cluster.nodes[0].apply(
            ProbeReport(pulled: [pulled], loaded: [loaded]), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil),
            now: 0)
        await cluster.nodes[0].setHealth(.healthy)
        cluster.markFirstProbeRoundComplete()
        await (try? cluster.acquire(.init(model: model)).get())?.release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        return cluster
    }

    /// One request running and two queued behind it (3 s and 6 s): the next would wait 9 s, over the
    /// 8 s refusal point.
    func fillTheQueue(_ cluster: Cluster) async throws -> (running: Lease, second: Task<Lease, any Error>, third: Task<Lease, any Error>) {
        let running = try await cluster.acquire(.init(model: model)).get()
        let second = Task { try await cluster.acquire(.init(model: model)).get() }
        await waitUntil { cluster.queuedRequests(model) == 1 }
        let third = Task { try await cluster.acquire(.init(model: model)).get() }
        await waitUntil { cluster.queuedRequests(model) == 2 }
        return (running, second, third)
    }

    @Test func aNewArrivalIsRefusedInPlaceOfTheRetryThatWasPromisedItsPlace() async throws {
        let cluster = await makeCluster()
        // The fourth would wait 9 s and is refused, told to come back.
        let (running, second, third) = try await fillTheQueue(cluster)
        let refused = await cluster.acquire(.init(model: model, retryKey: 4))
        guard case .failure(.overloaded(_, let retryAfter, _)) = refused else {
            Issue.record("expected the fourth request refused, got \(refused)")
            return
        }
        #expect(retryAfter == 1)
        // A slot frees: the queue alone would take a new arrival now (6 s), but its place is promised.
        await running.release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        let holding = try await second.value
        await waitUntil { cluster.queuedRequests(model) == 1 }
        let newcomer = await cluster.acquire(.init(model: model, retryKey: 5))
        guard case .failure(.overloaded) = newcomer else {
            Issue.record("expected the newcomer refused in the retry's stead, got \(newcomer)")
            return
        }
        // The retry comes back and queues.
        let retry = Task { try await cluster.acquire(.init(model: model, retryKey: 4)).get() }
        await waitUntil { cluster.queuedRequests(model) == 2 }
        #expect(cluster.queuedRequests(model) == 2)
        await holding.release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        await (try third.value).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        await (try retry.value).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
    }

    @Test func aRetryIsRefusedAgainOnlyPastTheMaximumWait() async throws {
        let cluster = await makeCluster()
        let (running, second, third) = try await fillTheQueue(cluster)
        // 9 s: over the 8 s refusal point, refused and promised a place...
        guard case .failure(.overloaded) = await cluster.acquire(.init(model: model, retryKey: 4)) else {
            Issue.record("expected a refusal")
            return
        }
        // ...and back at once, still 9 s: under the 10 s maximum, so it queues rather than being refused again.
        let retry = Task { try await cluster.acquire(.init(model: model, retryKey: 4)).get() }
        await waitUntil { cluster.queuedRequests(model) == 3 }
        #expect(cluster.queuedRequests(model) == 3)
        await running.release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        for task in [second, third, retry] { await (try task.value).release(RequestOutcome(succeeded: true, serviceSeconds: 3)) }
    }
}
