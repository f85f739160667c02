extension CapacityPlanner {
    /// The victim sets a planning round has worked out, per node, until a move changes what they
    /// depend on. A round weighs every model that wants a copy on every node that could take it,
    /// again after each move it makes, and working out a node's victims (each resident's price, two
    /// orders, the comebacks) was 40 % of a 64-node, 100-model farm's plan. A move changes only its
    /// own node's residents and the copy counts of its model and its victims, so it is those nodes'
    /// sets that are forgotten (`FarmLayout.apply`); a new target forgets all of them. Sets are kept
    /// by node index, as every caller passes the layout's own snapshot of the node (`healthy`).
    final class VictimMemo {
        struct Key: Hashable {
            var model: ModelName
            var keeping: Set<ModelName>?
        }

        private var byNode: [Int: [Key: FarmLayout.Victims?]] = [:]

        /// The set remembered for `key` on the node: `.some(nil)` when it was found not to fit.
        func known(_ key: Key, on nodeIndex: Int) -> FarmLayout.Victims?? {
            guard let node = byNode[nodeIndex], let entry = node[key] else { return nil }
            return .some(entry)
        }

        func remember(_ victims: FarmLayout.Victims?, for key: Key, on nodeIndex: Int) {
            byNode[nodeIndex, default: [:]][key] = .some(victims)
        }

        func forget(nodes: [Int]) {
            for node in nodes { byNode[node] = nil }
        }

        func forgetAll() { byNode = [:] }
    }
}
