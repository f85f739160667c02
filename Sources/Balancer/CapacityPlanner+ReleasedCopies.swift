extension CapacityPlanner {
    /// Per node index, the warm copies the target layout leaves out and whose model the target keeps
    /// warm elsewhere already: as many copies as the target gives it sit warm on nodes in service that
    /// the target places it on. The planner unloads such a copy when its step is worth it and the node
    /// is free; until then a request's cold load may take its place at no loss (`CostModel.evictionCost`),
    /// and drain it if it is busy (`Cluster.drainingLoad`).
    ///
    /// With a node out at 75 % load the target fitted all eight models into nine places and left out
    /// `phi3:mini`'s second copy, but the planner's steps were held back while the nodes loaded. The
    /// requests of models left without a copy cold-loaded in place of other models' idle last copies,
    /// seven loads in 12 s, each unloading the copy the next came for, and `phi3:mini`'s requests
    /// waited 17 s at p95 once the chain reached it.
    ///
    /// A node the target places nothing on releases all such copies: a two-node farm where one copy
    /// was enough kept the other node's copy unreleased for as long as the model stayed quiet.
    ///
    /// A copy the target moves (its model wanted on a node that does not hold it yet) is not released:
    /// taken now, it would leave the model short until the planner's load elsewhere is done.
    public static func copiesReleased(by target: [Int: Set<ModelName>], from snapshots: [NodeSnapshot]) -> [Int: Set<ModelName>] {
        guard !target.isEmpty else { return [:] }
        var wanted: [ModelName: Int] = [:]
        for models in target.values { for model in models { wanted[model, default: 0] += 1 } }
        var keptWarm: [ModelName: Int] = [:]
        for node in snapshots where node.health.isInService {
            guard let placed = target[node.index] else { continue }
            for model in node.loaded.keys where placed.contains(model) { keptWarm[model, default: 0] += 1 }
        }
        var released: [Int: Set<ModelName>] = [:]
        for node in snapshots where node.health.isInService {
            // A node the target places nothing on is planned empty, unless the planner cannot fit
            // anything there (no VRAM budget known): then the target says nothing of its copies.
            guard let placed = target[node.index] ?? (node.plannableVRAM != nil ? [] : nil) else { continue }
            let surplus = node.loaded.keys.filter { model in
                guard !placed.contains(model), let copies = wanted[model] else { return false }
                return (keptWarm[model] ?? 0) >= copies
            }
            if !surplus.isEmpty { released[node.index] = Set(surplus) }
        }
        return released
    }
}
