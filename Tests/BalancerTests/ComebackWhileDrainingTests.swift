import Testing

@testable import Balancer

/// A planned load whose busy victim comes back right after it: the victim drains first, and its
/// comeback can be claimed only once its copy is gone. Until then a request for it sees no copy
/// anywhere; it queues for the comeback instead of cold-loading the model elsewhere in place of
/// another model's only copy (on a 53 % shift that started a chain of four such loads).
@Suite struct ComebackWhileDrainingTests {
    let small = ModelName("llama3.2:3b")!
    let big = ModelName("codellama:13b")!
    let other = ModelName("phi3:mini")!

    /// Node a (room for two models) holds `small`, answering one request; node b (room for one)
    /// holds `other`, idle, its only copy. Both asked for now and then, answers measured at 1 s.
    func makeCluster() async throws -> (cluster: Cluster, holding: Lease) {
        let configs = [("a", 2), ("b", 1)].map { name, maxLoaded in
            var config = ClusterConfig.NodeConfig(name: name, url: NodeURL("http://\(name):1")!, maxParallel: 2)
            config.maxLoadedModels = maxLoaded
            return config
        }
        let cluster = Cluster(
            nodes: configs, queue: ClusterConfig.QueueSettings(maxLength: 32, maxWaitMs: 30_000), random: SeededGenerator(state: 1))
        let pulled = [small, big, other].map { PulledModel(name: $0, displayName: $0.description, sizeBytes: 2 * gigabyte, digest: "d") }
        for node in cluster.nodes {
            await node.apply(
                ProbeReport(pulled: pulled, loaded: []), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
            await node.setHealth(.healthy)
        }
        cluster.markFirstProbeRoundComplete()
        cluster.seedDemand([small: (rate: 0.2, serviceSeconds: 1), other: (rate: 0.2, serviceSeconds: 1)], age: 0)
        let (a, b) = (cluster.nodes[0].id, cluster.nodes[1].id)
        await (try cluster.acquire(.init(model: small, excluding: [b])).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        await (try cluster.acquire(.init(model: other, excluding: [a])).get()).release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        let holding = try await cluster.acquire(.init(model: small)).get()
        return (cluster, holding)
    }

    /// Node 0 loads `big` in place of `small`, which drains and comes back after it; node 1 holds
    /// `other`'s only copy, idle.
    func drainingFarm(comebacks: [String]) -> [NodeSnapshot] {
        let pulled: [String: Int64] = ["llama3.2:3b": 2, "codellama:13b": 2, "phi3:mini": 2]
        return [
            node(
                0, pulled: pulled, loading: ["codellama:13b": LoadInProgress(startedAt: 99, predictedSeconds: 5)],
                draining: ["llama3.2:3b"], comebacks: comebacks, inFlight: ["llama3.2:3b": 1, "codellama:13b": 1], maxLoaded: 2),
            node(1, pulled: pulled, loaded: ["phi3:mini"], service: ["phi3:mini": 1], maxLoaded: 1),
        ]
    }

    @Test func placementShowsTheComebackAsALoadToQueueFor() {
        var random = SeededGenerator(state: 1)
        let rates: [ModelName: Double] = [small: 0.2, other: 0.2]
        let estimate = try? AffinityPlacement.choose(
            small, among: drainingFarm(comebacks: ["llama3.2:3b"]), now: 100, demand: { rates[$0] ?? 0 }, using: &random
        ).get()
        #expect(estimate?.nodeIndex == 0)
        #expect(estimate?.claim == .joinLoad)
        #expect(estimate?.startsNow == false)
        // The wait: the rest of the load ahead (4 s), then its own (1 s + 2 GB at 1 s a GB).
        #expect(estimate?.waitSeconds == 7)
    }

    @Test func aColdLoadOnANodeWhoseLoadsAndDrainsFillItsPlacesWaits() {
        // Without a comeback, a load of `small` on node 0 has no place until the drain and the load
        // are done: it is not claimed at once (the node would refuse it, and the request would look
        // again at once, round after round).
        let farm = drainingFarm(comebacks: [])
        let estimate = CostModel().estimate(small, on: farm[0], now: 100, demand: { _ in 0.2 }, farmServiceSeconds: 1)
        #expect(estimate.isColdLoad)
        #expect(estimate.startsNow == false)
        #expect(CostModel().estimate(small, on: farm[1], now: 100, demand: { _ in 0.2 }, farmServiceSeconds: 1).startsNow)
    }

    @Test func aRequestQueuesForTheComebackAndJoinsItOnceClaimed() async throws {
        let (cluster, holding) = try await makeCluster()
        let nodeA = cluster.nodes[0]
        let lead = try #require(await cluster.claimPlannedLoad(big, on: nodeA.snapshot(index: 0), evicting: [small]))
        await nodeA.expectComebacks([small], after: big)
        #expect(await nodeA.snapshot(index: 0).awaitsComeback(small))

        let request = Task { await cluster.acquire(.init(model: small)) }
        await waitUntil { cluster.queuedRequests(small) == 1 }
        #expect(cluster.queuedRequests(small) == 1)
        // `other` keeps its only copy: nothing loads on node b.
        let nodeB = await cluster.nodes[1].snapshot(index: 0)
        #expect(nodeB.isLoaded(other) && !nodeB.isLoading(small))

        // The drain ends and the comeback is claimed: the queued request joins it.
        await holding.release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        await nodeA.finishDrain([small], now: cluster.now)
        let comeback = try #require(await cluster.claimComeback(small, on: nodeA.snapshot(index: 0), after: lead))
        #expect(await !nodeA.snapshot(index: 0).awaitsComeback(small))
        cluster.capacityChanged()
        let joined = try await request.value.get()
        #expect(joined.claim == .joinLoad)
        #expect(joined.node === nodeA)
        await joined.release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        await comeback.release(RequestOutcome(succeeded: true))
        await lead.release(RequestOutcome(succeeded: true))
    }

    @Test func aDrainGivenUpLetsTheQueuedRequestTakeTheCopyBack() async throws {
        let (cluster, holding) = try await makeCluster()
        let nodeA = cluster.nodes[0]
        let lead = try #require(await cluster.claimPlannedLoad(big, on: nodeA.snapshot(index: 0), evicting: [small]))
        await nodeA.expectComebacks([small], after: big)
        let request = Task { await cluster.acquire(.init(model: small)) }
        await waitUntil { cluster.queuedRequests(small) == 1 }
        // The load gives up its drain (the victim stayed busy): the copy is back in service.
        await nodeA.abandonDrain([small])
        #expect(await !nodeA.snapshot(index: 0).awaitsComeback(small))
        await lead.release(.unservedNoFault)
        await holding.release(RequestOutcome(succeeded: true, serviceSeconds: 1))
        let served = try await request.value.get()
        #expect(served.claim == .warmSlot)
        #expect(served.node === nodeA)
        await served.release(RequestOutcome(succeeded: true, serviceSeconds: 1))
    }
}
