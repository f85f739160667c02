import Balancer
import Dispatch
import HTTP1

/// What placing one request costs the balancer's CPU as the farm grows (`--placement-cost 1,4,16,64`):
/// farms of that many healthy nodes, each with eight 2 GB models pulled and three loaded, no sockets;
/// the time per `acquire` and `release` of a warm slot, over 20,000 requests for three models. Every
/// request weighs every node, so this grows with the farm, and it runs on the request path. It runs
/// on an event loop, as a served request does: from there every hop to a node's actor is two jobs
/// through the loop's queue, where from the cooperative pool the runtime may switch inline.
func measurePlacementCost(nodeCounts: [Int]) async {
    await withTaskExecutorPreference(EventLoops.firstLoopExecutor) { await measurePlacementCostHere(nodeCounts: nodeCounts) }
}

private func measurePlacementCostHere(nodeCounts: [Int]) async {
    print("| nodes | µs per acquire + release (median of 3 runs of 20,000) |")
    print("|---|---|")
    let models = (0..<8).map { ModelName("model\($0)")! }
    let modelBytes: Int64 = 2_000_000_000
    for nodeCount in nodeCounts {
        var runs: [Double] = []
        for _ in 0..<3 {
            let configs = (0..<nodeCount).map { index -> ClusterConfig.NodeConfig in
                var config = ClusterConfig.NodeConfig(name: "n\(index)", url: NodeURL("http://n\(index):11434")!, maxParallel: 4)
                config.vramGB = 16
                return config
            }
            let cluster = Cluster(nodes: configs)
            for (index, node) in cluster.nodes.enumerated() {
                let pulled = models.map { PulledModel(name: $0, displayName: $0.description, sizeBytes: modelBytes, digest: "d") }
                let loaded = (0..<3).map { models[(index + $0) % models.count] }.map {
                    LoadedModel(name: $0, sizeBytes: modelBytes, vramBytes: modelBytes, expiresAt: nil)
                }
                _ = await node.apply(
                    ProbeReport(pulled: pulled, loaded: loaded), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil),
                    now: 0)
                await node.setHealth(.healthy)
            }
            cluster.markFirstProbeRoundComplete()
            let requests = 20_000
            let start = DispatchTime.now().uptimeNanoseconds
            for request in 0..<requests {
                guard case .success(let lease) = await cluster.acquire(.init(model: models[request % 3])) else {
                    print("placement-bench: a warm request was not placed")
                    return
                }
                _ = await lease.release(RequestOutcome(succeeded: true))
            }
            runs.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(requests))
        }
        let median = runs.sorted()[1]
        print("| \(nodeCount) | \((median * 10).rounded() / 10) |")
    }
}
