import Foundation

extension CapacityPlanner {
    /// Copies each model's demand calls for on this farm, sized as the planner sizes them (before
    /// fitting into VRAM and each node's model cap): what the status page shows next to the copies a
    /// model has, so "why is this model on one node" is answered by its numbers.
    public static func wantedCopies(nodes: [NodeSnapshot], demand: [ModelName: Demand], settings: Settings = Settings()) -> [ModelName: Int]
    {
        // The planner's own layout (its holders and slots per model), so the page cannot drift from it.
        let layout = FarmLayout(nodes: nodes, demand: demand, now: 0, costModel: CostModel(), settings: settings)
        return Dictionary(uniqueKeysWithValues: demand.keys.map { ($0, layout.wantedCopies($0)) })
    }

    /// The layout the planner is heading for (`TargetLayout`), by node index.
    public static func targetLayout(
        nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel = CostModel(),
        settings: Settings = Settings(), previousTarget: [NodeID: Set<ModelName>] = [:]
    ) -> [Int: Set<ModelName>] {
        sizing(nodes: nodes, demand: demand, now: now, costModel: costModel, settings: settings, previousTarget: previousTarget).target
    }

    /// `wantedCopies`, `targetLayout` and the copies it has no place for (`TargetLayout.leftOutForRoom`)
    /// from one layout of the farm: the status page shows all three.
    public static func sizing(
        nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel = CostModel(),
        settings: Settings = Settings(), previousTarget: [NodeID: Set<ModelName>] = [:],
        challengers: TargetChallengers = TargetChallengers(), paces: NodePaces? = nil
    ) -> (wanted: [ModelName: Int], target: [Int: Set<ModelName>], leftOutForRoom: [ModelName: Int]) {
        let layout = FarmLayout(nodes: nodes, demand: demand, now: now, costModel: costModel, settings: settings, paces: paces)
        let target = TargetLayout(layout, previous: byIndex(previousTarget, nodes), challengers: challengers)
        return (
            Dictionary(uniqueKeysWithValues: demand.keys.map { ($0, layout.wantedCopies($0)) }), target.models, target.leftOutForRoom
        )
    }
}
