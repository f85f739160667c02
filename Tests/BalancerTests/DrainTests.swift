import Testing

@testable import Balancer

/// A planned load may unload a busy copy: the copy drains (takes no new request, finishes its own),
/// then makes way.
@Suite struct DrainTests {
    let busy = ModelName("llama3.2")!
    let incoming = ModelName("other")!

    /// A node that may hold one model, with `busy` loaded and one request running on it.
    func nodeServingOneRequest() async -> OllamaNode {
        let node = await probedNode(pulled: [busy: 2, incoming: 2], loaded: [busy], maxLoadedModels: 1)
        #expect(await node.tryAcquire(busy, claim: .warmSlot, now: 1))
        return node
    }

    func report(loaded: [ModelName]) -> ProbeReport {
        let pulled = [busy, incoming].map { PulledModel(name: $0, displayName: $0.description, sizeBytes: 2 * gigabyte, digest: "d") }
        return ProbeReport(
            pulled: pulled, loaded: loaded.map { LoadedModel(name: $0, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil) })
    }

    @Test func aPlannedLoadDrainsABusyVictimThatThenTakesNoRequest() async {
        let node = await nodeServingOneRequest()
        #expect(await node.tryAcquire(incoming, claim: .coldLoad(predictedSeconds: 3), now: 2, evicting: [busy]) == false)
        #expect(await node.tryAcquire(incoming, claim: .coldLoad(predictedSeconds: 3), now: 2, evicting: [busy], drainingBusy: true))
        #expect(await node.isDraining([busy]))
        // Its second slot is free, but it takes no new request; a probe that still lists it does not bring it back.
        #expect(await node.tryAcquire(busy, claim: .warmSlot, now: 2.5) == false)
        await node.apply(report(loaded: [busy]), outcome: ProbeOutcome(at: 3, succeeded: true, latencyMs: 1, error: nil), now: 3)
        var snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoaded(busy) && snapshot.draining[busy] != nil)
        #expect(snapshot.vramUsedBytes == 2 * gigabyte)  // still in VRAM until it is unloaded
        // Its request ends well: the copy stays out of placement, and the drain is over.
        await node.release(busy, outcome: RequestOutcome(succeeded: true, serviceSeconds: 1), now: 4)
        #expect(await node.isDraining([busy]) == false)
        #expect(await node.snapshot(index: 0).isLoaded(busy) == false)
        await node.finishDrain([busy], now: 4)
        snapshot = await node.snapshot(index: 0)
        #expect(snapshot.draining.isEmpty && snapshot.evictionsByModel[busy] == 1 && snapshot.isLoading(incoming))
    }

    @Test func aDrainGivenUpPutsTheCopyBackInService() async {
        let node = await nodeServingOneRequest()
        #expect(await node.tryAcquire(incoming, claim: .coldLoad(predictedSeconds: 3), now: 2, evicting: [busy], drainingBusy: true))
        await node.abandonDrain([busy])
        await node.release(incoming, outcome: .unservedNoFault, now: 3)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.isLoaded(busy) && snapshot.draining.isEmpty && !snapshot.isLoading(incoming))
        #expect(await node.tryAcquire(busy, claim: .warmSlot, now: 3))
    }

    @Test func anotherLoadDoesNotCountOnTheRoomADrainingCopyStillTakes() async {
        // Two models fit; one drains for a planned load. A third load must wait: the draining copy is still there.
        let third = ModelName("third")!
        let node = await probedNode(pulled: [busy: 2, incoming: 2, third: 2], loaded: [busy], maxLoadedModels: 2)
        #expect(await node.tryAcquire(busy, claim: .warmSlot, now: 1))
        #expect(await node.tryAcquire(incoming, claim: .coldLoad(predictedSeconds: 3), now: 2, evicting: [busy], drainingBusy: true))
        #expect(await node.tryAcquire(third, claim: .coldLoad(predictedSeconds: 3), now: 2) == false)
    }

    @Test func thePlannerTakesABusyCopyOnlyWhenCopiesDrain() {
        // "hot" is saturated on node 0; node 1 may hold one model and holds "rare", running a request.
        let sizes: [String: Int64] = ["hot": 4, "rare": 4]
        let nodes = [
            node(0, pulled: sizes, loaded: ["hot"], inFlight: ["hot": 2], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
            node(1, pulled: sizes, loaded: ["rare"], inFlight: ["rare": 1], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            ModelName("hot")!: .init(rate: 1, serviceSeconds: 3), ModelName("rare")!: .init(rate: 0.02, serviceSeconds: 3),
        ]
        var settings = CapacityPlanner.Settings()
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000, settings: settings)
        #expect(moves == [.init(model: ModelName("hot")!, nodeIndex: 1, evicting: [ModelName("rare")!], predictedLoadSeconds: 3)])
        settings.drainsBusyCopies = false
        #expect(CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000, settings: settings).isEmpty)
    }
}

/// While a copy of a model loads, the farm is adding copies of it: none of its warm copies is a victim.
@Suite struct CopiesWhileLoadingTests {
    @Test func noWarmCopyGoesWhileAnotherCopyOfItsModelLoads() {
        // "hot" (0.5/s) is warm on nodes 0 and 1 and loading on node 2; "x" (2/s) queues on node 3. Each
        // node holds one model. Three copies of "hot" are more than it needs, but the third is not warm yet.
        let sizes: [String: Int64] = ["hot": 4, "x": 4]
        func plan(loading: Bool) -> [CapacityPlanner.Move] {
            let nodes = [
                node(0, pulled: sizes, loaded: ["hot"], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
                node(1, pulled: sizes, loaded: ["hot"], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
                loading
                    ? node(
                        2, pulled: sizes, loading: ["hot": LoadInProgress(startedAt: 999, predictedSeconds: 3)], vramGB: 16, maxLoaded: 1,
                        loadRate: 0.5)
                    : node(2, pulled: sizes, loaded: ["hot"], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
                node(3, pulled: sizes, loaded: ["x"], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
            ]
            let demand: [ModelName: CapacityPlanner.Demand] = [
                ModelName("hot")!: .init(rate: 0.5, serviceSeconds: 1), ModelName("x")!: .init(rate: 2, serviceSeconds: 1.3),
            ]
            return CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        }
        #expect(plan(loading: false).contains { $0.model == ModelName("x")! && $0.evicting == [ModelName("hot")!] })
        #expect(plan(loading: true).allSatisfy { !$0.evicting.contains(ModelName("hot")!) }, "\(plan(loading: true))")
    }
}
