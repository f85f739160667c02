import Testing

@testable import Balancer

/// A node whose loads look stuck (Ollama's scheduler hung on a load while everything else answers,
/// ollama/ollama issue 17408) takes no load until it restarts, and serves the models it has loaded.
@Suite struct StuckLoadTests {
    let model = ModelName("llama3.2")!
    let other = ModelName("other")!

    func makeNode() async -> OllamaNode {
        let node = OllamaNode(config: ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2))
        await node.setHealth(.healthy)
        let pulled = [model, other].map { PulledModel(name: $0, displayName: $0.canonical, sizeBytes: 2 * gigabyte, digest: "d") }
        let loaded = [LoadedModel(name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil)]
        await node.apply(
            ProbeReport(pulled: pulled, loaded: loaded), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        return node
    }

    @Test func aNodeWhoseLoadsLookStuckTakesNoLoadButServesWhatItHasLoaded() async {
        let node = await makeNode()
        let count = await node.timesOutOfService
        #expect(await node.loadLooksStuck(now: 10, outOfServiceCountAtStart: count))
        #expect(await node.tryAcquire(other, claim: .coldLoad(predictedSeconds: 3), now: 11) == false)
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 11))
        #expect(await node.snapshot(index: 0).loadsLookStuck)
        // Placement leaves the node out for a model it has not loaded, and keeps it for one it has.
        let snapshots = [await node.snapshot(index: 0)]
        #expect(throws: Never.self) { try AffinityPlacement.candidateTier(model, among: snapshots, excluding: []).get() }
        #expect(throws: PlacementFailure.self) { try AffinityPlacement.candidateTier(other, among: snapshots, excluding: []).get() }
    }

    @Test func aRestartEndsIt() async {
        let node = await makeNode()
        #expect(await node.loadLooksStuck(now: 10, outOfServiceCountAtStart: await node.timesOutOfService))
        await node.setHealth(.unhealthy)
        await node.setHealth(.healthy)
        #expect(await node.loadsLookStuck == false)
        #expect(await node.tryAcquire(other, claim: .coldLoad(predictedSeconds: 3), now: 11))
    }

    @Test func tenMinutesEndItWithoutARestart() async {
        let node = await makeNode()
        #expect(await node.loadLooksStuck(now: 10, outOfServiceCountAtStart: await node.timesOutOfService))
        let probe = ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil)
        let report = ProbeReport(pulled: await node.snapshot(index: 0).pulled.values.map { $0 }, loaded: [])
        await node.apply(report, outcome: probe, now: 10 + OllamaNode.stuckLoadsRetrySeconds - 1)
        #expect(await node.loadsLookStuck)
        await node.apply(report, outcome: probe, now: 10 + OllamaNode.stuckLoadsRetrySeconds)
        #expect(await node.loadsLookStuck == false)
    }

    /// A load that outran its deadline on a node that left service meanwhile was caught in a hang or
    /// a restart, which health handles: the node's loads are not blamed.
    @Test func aLoadOnANodeThatLeftServiceMeanwhileIsNotBlamed() async {
        let node = await makeNode()
        let count = await node.timesOutOfService
        await node.setHealth(.unhealthy)
        await node.setHealth(.healthy)
        #expect(await node.loadLooksStuck(now: 10, outOfServiceCountAtStart: count) == false)
        #expect(await node.loadsLookStuck == false)
    }
}
