/// Why no node could take a request.
public enum PlacementFailure: Error, Equatable, Sendable {
    /// No node has the model pulled (and none is still unprobed).
    case modelNotFound
    /// Nodes have the model but none of them is healthy right now.
    case noHealthyNode
}

/// The first scheduler: within the best priority tier that has a healthy node with the model,
/// a node with the model loaded and a slot free wins; otherwise the least loaded node. `weight`
/// splits traffic between equal choices, and ties are broken at random so the first node in the
/// file never takes everything.
public enum WarmFirstPlacement {
    public struct Choice: Sendable, Equatable {
        public let nodeIndex: Int
        /// The node was chosen for a free warm slot; acquisition must re-check that.
        public let warm: Bool
    }

    public static func choose(
        _ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int> = [],
        using random: inout some RandomNumberGenerator
    ) -> Result<Choice, PlacementFailure> {
        let holders = nodes.filter { $0.hasPulled(model) }
        let candidates = holders.filter { $0.health == .healthy && !excluding.contains($0.index) }
        guard let bestTier = candidates.map(\.priority).min() else {
            return .failure(holders.isEmpty && !nodes.contains { $0.health == .unknown } ? .modelNotFound : .noHealthyNode)
        }
        let tier = candidates.filter { $0.priority == bestTier }
        let warm = tier.filter { $0.hasWarmSlot(model) }
        if !warm.isEmpty {
            return .success(Choice(nodeIndex: pickWeighted(warm, using: &random).index, warm: true))
        }
        // No warm slot: the node whose slots for this model are least occupied, relative to its size.
        func occupancy(_ node: NodeSnapshot) -> Double {
            Double(node.inFlight(model)) / Double(node.maxParallel)
        }
        let lowest = tier.map(occupancy).min()!
        let least = tier.filter { occupancy($0) == lowest }
        return .success(Choice(nodeIndex: pickWeighted(least, using: &random).index, warm: false))
    }

    /// Picks in proportion to weight; if every weight is 0, uniformly.
    static func pickWeighted(_ nodes: [NodeSnapshot], using random: inout some RandomNumberGenerator) -> NodeSnapshot {
        let total = nodes.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return nodes[Int.random(in: 0..<nodes.count, using: &random)] }
        var ticket = Int.random(in: 0..<total, using: &random)
        for node in nodes {
            if ticket < node.weight { return node }
            ticket -= node.weight
        }
        return nodes[nodes.count - 1]
    }
}
