import Balancer

extension ModelUnloader {
    /// How long a load waits for its busy victims' requests to end, in multiples of the longest
    /// answer time among them (and at least the caller's minimum), before it gives up.
    static let drainAnswerTimes = 4.0

    /// The shortest wait for a drain (cluster seconds): answers of unknown length get this long.
    static let minimumDrainSeconds = 5.0

    /// How often a drain looks whether the victims' requests have ended (real time).
    static let drainPollNanoseconds: UInt64 = 10_000_000

    /// Waits until the victims of `lease`'s load that were busy when it was claimed have finished
    /// their requests (they take no new ones meanwhile); then they are the node's to unload. A victim
    /// that outlasts the wait (a long answer) keeps its place: the load is given up and its slot given
    /// back, the victims take requests again, and whoever wanted the load weighs it anew. Unloaded
    /// while busy, Ollama would keep it until its requests end, and meanwhile make room for the load
    /// with a model of its own choosing.
    func drain(for lease: Lease, minimumSeconds: Double = minimumDrainSeconds) async -> Bool {
        let victims = lease.evicting
        guard !victims.isEmpty else { return true }
        let deadline = cluster.now + max(minimumSeconds, Self.drainAnswerTimes * lease.drainingAnswerSeconds)
        while await lease.node.isDraining(victims) {
            guard cluster.now < deadline, !Task.isCancelled else {
                await lease.node.abandonDrain(victims)
                await lease.node.unloadsSent(for: lease.model)  // nothing left to wait for: requests that joined go
                logger.info(
                    "gave up loading \(lease.model) on node \(lease.nodeConfig.name): \(victims.map(\.canonical).joined(separator: ", ")) still busy"
                )
                await lease.release(.unservedNoFault)
                return false
            }
            try? await Task.sleep(nanoseconds: Self.drainPollNanoseconds)
        }
        await lease.node.finishDrain(victims, now: cluster.now)
        return true
    }
}
