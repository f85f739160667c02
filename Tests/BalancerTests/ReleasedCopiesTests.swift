import Testing

@testable import Balancer

/// Copies the planner's target leaves out while their model keeps what the target wants warm
/// elsewhere: a model with no copy drains one of them rather than unload another model's last copy.
@Suite struct ReleasedCopiesTests {
    let phi = ModelName("phi3")!
    let llama = ModelName("llama3.2")!
    let gemma = ModelName("gemma2:2b")!

    func target(_ layout: [Int: [String]]) -> [Int: Set<ModelName>] {
        layout.mapValues { Set($0.map { ModelName($0)! }) }
    }

    @Test func aCopyTheTargetLeavesOutIsReleasedWhenItsModelIsWarmWhereTheTargetWantsIt() {
        let pulled: [String: Int64] = ["phi3": 2, "llama3.2": 2, "gemma2:2b": 2]
        let nodes = [
            node(0, pulled: pulled, loaded: ["phi3", "llama3.2"]), node(1, pulled: pulled, loaded: ["phi3", "gemma2:2b"]),
        ]
        let released = CapacityPlanner.copiesReleased(by: target([0: ["phi3", "llama3.2"], 1: ["gemma2:2b", "llama3.2"]]), from: nodes)
        #expect(released == [1: [phi]])
    }

    /// One copy is enough and the target places nothing on node 1: its copy is released. A node with
    /// no VRAM budget known is one the planner cannot place on, and its copies are not released.
    @Test func aNodeTheTargetPlacesNothingOnReleasesItsSpareCopies() {
        let pulled: [String: Int64] = ["llama3.2": 2]
        let planned = target([0: ["llama3.2"]])
        let nodes = [node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16), node(1, pulled: pulled, loaded: ["llama3.2"], vramGB: 16)]
        #expect(CapacityPlanner.copiesReleased(by: planned, from: nodes) == [1: [llama]])
        let unplannable = [node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16), node(1, pulled: pulled, loaded: ["llama3.2"])]
        #expect(unplannable[1].plannableVRAM == nil)
        #expect(CapacityPlanner.copiesReleased(by: planned, from: unplannable) == [:])
    }

    /// The target moves `llama3.2` from node 1 to node 2, which does not hold it yet: its copy on node 1
    /// is still wanted until then. A model the target drops altogether is not released either.
    @Test func aCopyTheTargetMovesOrDropsAltogetherIsNotReleased() {
        let pulled: [String: Int64] = ["phi3": 2, "llama3.2": 2, "gemma2:2b": 2]
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"]), node(1, pulled: pulled, loaded: ["llama3.2", "gemma2:2b"]),
            node(2, pulled: pulled, loaded: ["phi3"]),
        ]
        let layout = target([0: ["llama3.2"], 1: ["phi3"], 2: ["llama3.2", "phi3"]])
        #expect(CapacityPlanner.copiesReleased(by: layout, from: nodes) == [:])
    }

    /// A node out of service neither releases copies nor counts as keeping them.
    @Test func nodesOutOfServiceDoNotCount() {
        let pulled: [String: Int64] = ["phi3": 2, "llama3.2": 2]
        let nodes = [node(0, health: .unhealthy, pulled: pulled, loaded: ["phi3"]), node(1, pulled: pulled, loaded: ["phi3", "llama3.2"])]
        #expect(CapacityPlanner.copiesReleased(by: target([0: ["phi3"], 1: ["llama3.2"]]), from: nodes) == [:])
    }

    /// Three one-slot nodes: `gemma2:2b` idle on a (its only copy, asked for every 4 s), `llama3.2`
    /// busy on b and c (0.6 requests/s of 3 s answers: one copy would be saturated). A request for the
    /// absent model unloads the idle last copy, as `mayDrain` refuses to leave `llama3.2` one copy for
    /// one request. Once the target releases `llama3.2`'s copy on b, the request drains it instead,
    /// and `gemma2:2b` keeps its copy.
    @Test func aModelWithNoCopyDrainsAReleasedCopyRatherThanUnloadAnIdleLastCopy() async throws {
        let absent = ModelName("qwen2.5")!
        for releasing in [false, true] {
            let cluster = await oneModelNodes(pulled: [[gemma: 2, absent: 2], [llama: 2, absent: 2], [llama: 2, absent: 2]])
            for (index, model) in [(0, gemma), (1, llama), (2, llama)] {
                await (try cluster.acquire(.init(model: model, excluding: cluster.nodes(otherThan: index))).get()).release(
                    RequestOutcome(succeeded: true, serviceSeconds: 3))
            }
            cluster.seedDemand(
                [gemma: (rate: 0.25, serviceSeconds: 3), llama: (rate: 0.6, serviceSeconds: 3), absent: (rate: 0.05, serviceSeconds: 3)],
                age: 0)
            if releasing { cluster.releasedCopies.withLock { $0 = [cluster.nodes[1].id: [llama]] } }
            let holdingB = try await cluster.acquire(.init(model: llama, excluding: cluster.nodes(otherThan: 1))).get()
            let holdingC = try await cluster.acquire(.init(model: llama, excluding: cluster.nodes(otherThan: 2))).get()
            let lease = try await cluster.acquire(.init(model: absent)).get()
            #expect(lease.evicting == (releasing ? [llama] : [gemma]), "releasing: \(releasing)")
            #expect(lease.node === cluster.nodes[releasing ? 1 : 0], "releasing: \(releasing)")
            if releasing { #expect(await cluster.nodes[0].snapshot(index: 0).loaded[gemma] != nil) }
            await holdingB.release(RequestOutcome(succeeded: true))
            await holdingC.release(RequestOutcome(succeeded: true))
            await lease.release(RequestOutcome(succeeded: true))
        }
    }

    /// Two one-model nodes, both holding `llama3.2` busy at 0.6 requests/s: one request for the absent
    /// model does not drain either (`DrainingLoadTests`), unless the target has released one of them.
    @Test func aReleasedBusyCopyIsDrainedForOneRequest() async throws {
        let absent = ModelName("qwen2.5")!
        let cluster = await oneModelNodes(pulled: [[llama: 2, absent: 2], [llama: 2, absent: 2]])
        await (try cluster.acquire(.init(model: absent, excluding: cluster.nodes(otherThan: 0))).get()).release(
            RequestOutcome(succeeded: true, serviceSeconds: 3))
        for index in 0..<2 {
            await (try cluster.acquire(.init(model: llama, excluding: cluster.nodes(otherThan: index))).get()).release(
                RequestOutcome(succeeded: true, serviceSeconds: 3))
        }
        cluster.seedDemand([llama: (rate: 0.6, serviceSeconds: 3), absent: (rate: 0.05, serviceSeconds: 3)], age: 0)
        cluster.releasedCopies.withLock { $0 = [cluster.nodes[1].id: [llama]] }
        let holdingA = try await cluster.acquire(.init(model: llama, excluding: cluster.nodes(otherThan: 0))).get()
        let holdingB = try await cluster.acquire(.init(model: llama, excluding: cluster.nodes(otherThan: 1))).get()
        let lease = try await cluster.acquire(.init(model: absent)).get()
        #expect(lease.evicting == [llama])
        #expect(lease.node === cluster.nodes[1])
        #expect(await cluster.nodes[1].isDraining([llama]))
        await holdingA.release(RequestOutcome(succeeded: true))
        await holdingB.release(RequestOutcome(succeeded: true))
        await lease.release(RequestOutcome(succeeded: true))
    }
}
