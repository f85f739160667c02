/// The consistent copies of every node's state that placement and the planners reason over.
extension Cluster {
    public func snapshots() async -> [NodeSnapshot] {
        await snapshots(of: nodes)
    }

    func snapshots(of nodes: [OllamaNode]) async -> [NodeSnapshot] {
        var result: [NodeSnapshot] = []
        result.reserveCapacity(nodes.count)
        for (index, node) in nodes.enumerated() {
            if let published = node.publishedSnapshot(index: index) {
                result.append(published)
            } else {
                result.append(await node.snapshot(index: index))
            }
        }
        fillHeldElsewhere(&result)
        return result
    }

    /// Gives each node without `vramGB` the most another such node was seen holding (see
    /// `NodeSnapshot.heldElsewhereBytes`): the largest holding, or for its own holder the second.
    private func fillHeldElsewhere(_ snapshots: inout [NodeSnapshot]) {
        var first: (index: Int, bytes: Int64)?
        var second: Int64?
        for node in snapshots where node.config.vramGB == nil {
            guard let held = node.observedLimits.residentBytes else { continue }
            if held > first?.bytes ?? -1 {
                second = first?.bytes
                first = (node.index, held)
            } else if held > second ?? -1 {
                second = held
            }
        }
        guard let first else { return }
        for index in snapshots.indices where snapshots[index].config.vramGB == nil {
            snapshots[index].heldElsewhereBytes = index == first.index ? second : first.bytes
        }
    }
}
