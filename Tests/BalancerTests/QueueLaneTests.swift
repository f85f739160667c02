import Testing

@testable import Balancer

/// Which lane of its model's queue a request waits in (`Cluster.queueLane`): the lane of the
/// requests that set none whenever the runners for the automatic length serve it.
@Suite struct QueueLaneTests {
    let model = ModelName("llama3.2")!

    /// One node holding `model`, its runner loaded for a request that set no length, shown at
    /// `automatic` by a probe sent after it (nil: not loaded that way, so the length is not known).
    func snapshots(automatic: Int?) async -> (Cluster, [NodeSnapshot]) {
        let cluster = Cluster(nodes: [ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)])
        let node = cluster.nodes[0]
        if automatic != nil { await node.runnerAsked(model, contextLength: nil, now: 0) }
        let pulled = PulledModel(name: model, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "d")
        let loaded = LoadedModel(
            name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil, contextLength: automatic ?? 4096)
        _ = await node.apply(
            ProbeReport(pulled: [pulled], loaded: [loaded]), outcome: ProbeOutcome(at: 1, succeeded: true, latencyMs: 1, error: nil),
            now: 1,
            sentAt: 1)
        await node.setHealth(.healthy)
        return (cluster, await cluster.snapshots())
    }

    @Test func asksTheAutomaticRunnersServeShareTheLaneOfThoseThatSetNone() async {
        let (cluster, known) = await snapshots(automatic: 4096)
        #expect(cluster.queueLane(nil, of: model, atLeast: false, in: known) == nil)
        #expect(cluster.queueLane(4096, of: model, atLeast: false, in: known) == nil)
        // LlamaIndex's 3900: a runner of its own under Ollama's rule, the automatic one's under atLeast.
        #expect(cluster.queueLane(3900, of: model, atLeast: false, in: known) == 3900)
        #expect(cluster.queueLane(3900, of: model, atLeast: true, in: known) == nil)
        #expect(cluster.queueLane(8192, of: model, atLeast: true, in: known) == 8192)
        // Not knowing the automatic length, every ask keeps its own lane.
        let (unknownCluster, unknown) = await snapshots(automatic: nil)
        #expect(unknownCluster.queueLane(3900, of: model, atLeast: true, in: unknown) == 3900)
        #expect(unknownCluster.queueLane(4096, of: model, atLeast: false, in: unknown) == 4096)
    }
}
