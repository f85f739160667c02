/// Placement's side of `ParallelSlotDiscovery`: which copy a request probes when every slot
/// TensorWall knows of is busy.
extension Cluster {
    /// Sends the request to a warm copy whose known slots are all busy, to learn whether the node has
    /// a slot more (see `ParallelSlotDiscovery`): the conversation's node if it qualifies, else the
    /// first in the best tier. Nil when no copy qualifies or the node no longer accepts the probe.
    func probeParallelSlot(
        _ model: ModelName, nodes: [OllamaNode], snapshots: [NodeSnapshot], excluding: Set<Int>, conversationNode: Int?, now: Double
    ) async -> Lease? {
        // Most farms give every node's maxParallel: their queued requests skip the tier search.
        guard snapshots.contains(where: { $0.config.discoversParallelSlots }),
            case .success(let tier) = AffinityPlacement.candidateTier(model, among: snapshots, excluding: excluding)
        else { return nil }
        let candidates = tier.filter { node in
            node.isLoaded(model) && !node.isLoading(model) && node.inFlight(model) == node.maxParallel
                && node.parallelDiscovery.mayProbe(model, running: node.inFlight(model), now: now, configured: node.config)
        }
        guard let chosen = candidates.first(where: { $0.index == conversationNode }) ?? candidates.first,
            await nodes[chosen.index].tryAcquire(model, claim: .parallelProbe, now: clock())
        else { return nil }
        return Lease(
            cluster: self, node: nodes[chosen.index], nodeConfig: chosen.config, model: model, claim: .parallelProbe, startedAt: clock(),
            expectedServiceSeconds: chosen.serviceSeconds[model])
    }
}
