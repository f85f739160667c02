import Testing

@testable import Balancer

/// A model that has lost every copy while the farm is busy: the head of its queue drains its way in
/// past a busy model that has a copy elsewhere, instead of waiting for that model to go idle. (A busy
/// model's only copy is not drained: `BusyVictimShedTests` refuses such a load at once.)
@Suite struct DrainingLoadTests {
    let hot = ModelName("llama3.2")!
    let absent = ModelName("qwen2.5")!

    /// Two nodes with one slot and room for one model each; `hot` answered once on each (3 s), so both
    /// hold it warm, and `absent` answered once before (its service time is measured). `hot` has been
    /// asked for `hotRate` requests per second for a long while.
    func makeCluster(hotRate: Double = 0.05) async throws -> Cluster {
        let cluster = await twoOneModelNodes(pulled: [[hot: 2, absent: 2], [hot: 2, absent: 2]])
        cluster.seedDemand([hot: (rate: hotRate, serviceSeconds: 3), absent: (rate: 0.05, serviceSeconds: 3)], age: 0)
        let onlyA: Set<NodeID> = [cluster.nodes[1].id]
        let onlyB: Set<NodeID> = [cluster.nodes[0].id]
        await (try cluster.acquire(.init(model: absent, excluding: onlyA)).get()).release(
            RequestOutcome(succeeded: true, serviceSeconds: 3))
        await (try cluster.acquire(.init(model: hot, excluding: onlyA)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        await (try cluster.acquire(.init(model: hot, excluding: onlyB)).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 3))
        return cluster
    }

    @Test func aModelWithNoCopyDrainsABusyModelThatHasAnotherCopy() async throws {
        let cluster = try await makeCluster()
        // Both copies of llama3.2 busy: qwen2.5's load can only unload a busy model.
        let holdingA = try await cluster.acquire(.init(model: hot)).get()
        let holdingB = try await cluster.acquire(.init(model: hot)).get()
        let lease = try await cluster.acquire(.init(model: absent)).get()
        guard case .coldLoad = lease.claim else {
            Issue.record("expected a cold load, got \(lease.claim)")
            return
        }
        #expect(lease.evicting == [hot])
        #expect(lease.drainingAnswerSeconds == 3)
        // The drained copy takes no new request; llama3.2 goes on from its other copy.
        #expect(await lease.node.isDraining([hot]))
        let (drained, other) = lease.node === holdingA.node ? (holdingA, holdingB) : (holdingB, holdingA)
        #expect(await drained.node.snapshot(index: 0).loaded[hot] == nil)
        #expect(await other.node.snapshot(index: 0).loaded[hot] != nil)
        await drained.release(RequestOutcome(succeeded: true))
        #expect(await !lease.node.isDraining([hot]))
        await lease.release(RequestOutcome(succeeded: true))
        await other.release(RequestOutcome(succeeded: true))
    }

    /// The same with `hot` asked for 0.6 requests per second: on one copy it would be saturated, which
    /// one waiting request does not outweigh. Nothing drains; the request takes the first copy that
    /// goes idle.
    @Test func aBusyModelThatOneCopyCouldNotServeIsNotDrainedForOneRequest() async throws {
        let cluster = try await makeCluster(hotRate: 0.6)
        let holdingA = try await cluster.acquire(.init(model: hot)).get()
        let holdingB = try await cluster.acquire(.init(model: hot)).get()
        let absentRequest = Task { try await cluster.acquire(.init(model: absent)).get() }
        await waitUntil { cluster.queuedRequests(absent) == 1 }
        cluster.capacityChanged()
        try await Task.sleep(for: .milliseconds(20))
        for node in cluster.nodes { #expect(await !node.isDraining([hot])) }
        #expect(cluster.queuedRequests(absent) == 1)
        await holdingA.release(RequestOutcome(succeeded: true))
        let lease = try await absentRequest.value
        #expect(lease.evicting == [hot])
        #expect(lease.drainingAnswerSeconds == 0)
        await lease.release(RequestOutcome(succeeded: true))
        await holdingB.release(RequestOutcome(succeeded: true))
    }

    @Test func aBusyModelWithALongerQueuePerSlotIsDrainedOnlyOnceTheWaitingQueueIsAsLong() async throws {
        let cluster = try await makeCluster()
        let holdingA = try await cluster.acquire(.init(model: hot)).get()
        let holdingB = try await cluster.acquire(.init(model: hot)).get()
        // Three requests queued for llama3.2: three per slot once one of its two copies is drained.
        var hotWaiters: [Task<Void, any Error>] = []
        for number in 0..<3 {
            hotWaiters.append(Task { await (try cluster.acquire(.init(model: hot)).get()).release(RequestOutcome(succeeded: true)) })
            await waitUntil { cluster.queuedRequests(hot) == number + 1 }
        }
        var absentRequests: [Task<[ModelName], any Error>] = []
        for number in 0..<3 {
            absentRequests.append(
                Task {
                    let lease = try await cluster.acquire(.init(model: absent)).get()
                    await lease.release(RequestOutcome(succeeded: true))
                    return lease.evicting
                })
            await waitUntil { cluster.queuedRequests(absent) == number + 1 }
            cluster.capacityChanged()  // the head looks again
            try await Task.sleep(for: .milliseconds(20))
            if number < 2 {
                // One or two waiting: llama3.2's queue is longer per slot; nothing drains.
                #expect(cluster.queuedRequests(absent) == number + 1)
                for node in cluster.nodes { #expect(await !node.isDraining([hot])) }
            }
        }
        // Three waiting: the head drains a copy of llama3.2 and takes the load.
        await holdingA.release(RequestOutcome(succeeded: true))
        await holdingB.release(RequestOutcome(succeeded: true))
        #expect(try await absentRequests[0].value == [hot])
        for request in absentRequests.dropFirst() { _ = try await request.value }
        for waiter in hotWaiters { try await waiter.value }
    }

    /// The absent model's only copy is on a third node that has gone out of service: it has no copy,
    /// and drains its way in as in the first test rather than wait for a slot of `llama3.2`.
    @Test func aModelWhoseOnlyCopyIsOnANodeOutOfServiceDrainsItsWayIn() async throws {
        let cluster = await oneModelNodes(pulled: [[hot: 2, absent: 2], [hot: 2, absent: 2], [absent: 2]])
        cluster.seedDemand([hot: (rate: 0.05, serviceSeconds: 3), absent: (rate: 0.05, serviceSeconds: 3)], age: 0)
        for (index, model) in [(2, absent), (0, hot), (1, hot)] {
            await (try cluster.acquire(.init(model: model, excluding: cluster.nodes(otherThan: index))).get()).release(
                RequestOutcome(succeeded: true, serviceSeconds: 3))
        }
        await cluster.nodes[2].setHealth(.unhealthy)
        let holdingA = try await cluster.acquire(.init(model: hot)).get()
        let holdingB = try await cluster.acquire(.init(model: hot)).get()
        let request = Task { try await cluster.acquire(.init(model: absent)).get() }
        var draining = false
        for _ in 0..<2_000 where !draining {
            let drainingA = await cluster.nodes[0].isDraining([hot])
            let drainingB = await cluster.nodes[1].isDraining([hot])
            draining = drainingA || drainingB
            if !draining { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(draining)
        await holdingA.release(RequestOutcome(succeeded: true))
        await holdingB.release(RequestOutcome(succeeded: true))
        let lease = try await request.value
        #expect(lease.evicting == [hot])
        await lease.release(RequestOutcome(succeeded: true))
    }

    @Test func theDrainGoesWhereTheLossIsLeastNotWhereTheWaitIsShortest() async throws {
        // Four one-slot nodes: llama3.2 warm on a and b (answers of 1 s, 0.3 requests/s), calm warm on
        // c and d (answers of 3 s, 0.02 requests/s). All four busy, the absent model's load drains one
        // of them. Draining llama3.2 starts it 2 s sooner but leaves its requests one slot.
        let calm = ModelName("calm")!
        let cluster = await oneModelNodes(pulled: [
            [hot: 2, absent: 2], [hot: 2, absent: 2], [calm: 2, absent: 2], [calm: 2, absent: 2],
        ])
        for (index, model, seconds) in [(0, hot, 1.0), (1, hot, 1.0), (2, calm, 3.0), (3, calm, 3.0)] {
            await (try cluster.acquire(.init(model: model, excluding: cluster.nodes(otherThan: index))).get()).release(
                RequestOutcome(succeeded: true, serviceSeconds: seconds))
        }
        cluster.seedDemand([hot: (rate: 0.3, serviceSeconds: 1), calm: (rate: 0.02, serviceSeconds: 3)], age: 0)
        var holding: [Lease] = []
        for model in [hot, hot, calm, calm] { holding.append(try await cluster.acquire(.init(model: model)).get()) }
        let lease = try await cluster.acquire(.init(model: absent)).get()
        #expect(lease.evicting == [calm])
        #expect(lease.drainingAnswerSeconds == 3)
        for held in holding { await held.release(RequestOutcome(succeeded: true)) }
        await lease.release(RequestOutcome(succeeded: true))
    }
}
