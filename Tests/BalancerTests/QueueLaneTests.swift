import Testing

@testable import Balancer

/// Which lane of its model's queue a request waits in (`Cluster.queueLane`): the lane of the
/// requests that set none whenever the runners for the automatic length serve it.
@Suite struct QueueLaneTests {
    let model = ModelName("llama3.2")!

    /// One node holding `model`, its runner loaded for a request that set no length and shown at
    /// `automatic` (nil: loaded before TensorWall started, shown at 4096, so the length is not known).
    func snapshots(automatic: Int?) async -> (Cluster, [NodeSnapshot]) {
        let cluster = await clusterHolding(model, runners: [(automatic == nil ? nil : .automatic, automatic ?? 4096)])
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
