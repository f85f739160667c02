import Synchronization

/// A reload: the node list a new config gives, matched against the nodes running now.
extension Cluster {
    /// What a reload did to the node list.
    public struct Reconfiguration: Sendable, Equatable {
        /// Same name and URL: the actor, its learned state, slots in flight and ejection carry on.
        public var kept: [NodeID] = []
        /// New names, or a known name at a new URL: they start unknown until probed.
        public var added: [NodeID] = []
        /// Gone from the config: requests running there finish; nothing new is placed there.
        public var removed: [NodeID] = []
    }

    /// Applies a reloaded config. Nodes keep their actor while their name and URL stay the same
    /// (weight, priority and limits are updated in place); demand, queues, conversations and the
    /// passive health of kept nodes carry on. Waiting requests look again at the new membership.
    @discardableResult
    public func reconfigure(
        nodes configs: [ClusterConfig.NodeConfig], strategy: ClusterConfig.Strategy, queue: ClusterConfig.QueueSettings,
        outlier: ClusterConfig.OutlierSettings, numCtx: ClusterConfig.NumCtxPolicy = .exact
    ) async -> Reconfiguration {
        let old = nodes
        var change = Reconfiguration()
        var next: [OllamaNode] = []
        for config in configs {
            if let same = old.first(where: { $0.id == config.id && $0.url == config.url }) {
                await same.update(config)
                next.append(same)
                change.kept.append(config.id)
            } else {
                next.append(OllamaNode(config: config))
                change.added.append(config.id)
            }
        }
        change.removed = old.map(\.id).filter { id in !configs.contains { $0.id == id } }
        membership.withLock { $0 = Membership(nodes: next, strategy: strategy, queueSettings: queue, numCtx: numCtx) }
        let kept = Set(change.kept)
        outliers.withLock { detector in
            detector.settings = outlier
            detector.keepOnly(kept)
        }
        queues.capacityChanged()
        return change
    }
}
