/// Which loads keep the config's `warm` list whole: for each listed model short of its number of
/// copies, the healthy nodes that hold it pulled and can start loading it now, quickest first.
/// Pure, like `CapacityPlanner`; the caller carries the loads out.
public enum WarmListPlanner {
    public struct Load: Sendable, Equatable {
        public let model: ModelName
        public let nodeIndex: Int
    }

    public static func loads(
        for targets: [(model: ModelName, copies: Int)], nodes: [NodeSnapshot], now: Double, costModel: CostModel
    ) -> [Load] {
        var result: [Load] = []
        for (model, wanted) in targets {
            let resident = nodes.filter { $0.health == .healthy && ($0.isLoaded(model) || $0.isLoading(model)) }.count
            guard resident < wanted else { continue }
            let candidates = nodes.filter { $0.health == .healthy && $0.hasPulled(model) && !$0.isLoaded(model) && !$0.isLoading(model) }
                .map { (node: $0, estimate: costModel.estimate(model, on: $0, now: now, demand: { _ in 0 }, farmServiceSeconds: nil)) }
                .filter { $0.estimate.startsNow }
                .sorted { ($0.estimate.seconds, $0.node.index) < ($1.estimate.seconds, $1.node.index) }
            result += candidates.prefix(wanted - resident).map { Load(model: model, nodeIndex: $0.node.index) }
        }
        return result
    }
}
