import Foundation

extension CapacityPlanner {
    /// Copies each model's demand calls for on this farm, sized as the planner sizes them (before
    /// fitting into VRAM and each node's model cap): what the status page shows next to the copies a
    /// model has, so "why is this model on one node" is answered by its numbers.
    public static func wantedCopies(nodes: [NodeSnapshot], demand: [ModelName: Demand], settings: Settings = Settings()) -> [ModelName: Int]
    {
        let healthy = nodes.filter { $0.health == .healthy }
        var wanted: [ModelName: Int] = [:]
        for (model, entry) in demand {
            let holders = healthy.filter { $0.hasPulled(model) }
            let slots = holders.map(\.maxParallel).min() ?? 1
            wanted[model] = wantedCopies(model, entry, holders: holders.count, slotsPerCopy: slots, settings: settings)
        }
        return wanted
    }
}
