extension CapacityPlanner {
    /// The moves whose model has no more copies (warm or loading, on nodes in service) now than in
    /// the snapshots the plan was made from, and the models whose moves are dropped. A request for a
    /// model with no copy starts a cold load the moment it is woken, and a probe round that takes a
    /// node out wakes it just as the planner runs: after a hang on the placement benchmark, a request
    /// cold-loaded `qwen2.5:7b` on gpu3 while the round's plan, blind to it, loaded a second copy on gpu0
    /// in place of the hot model's, undone by the planner 15 s later. The next round plans again from
    /// what is there.
    public static func movesStillWanted(_ moves: [Move], plannedFrom planned: [NodeSnapshot], now current: [NodeSnapshot]) -> (
        wanted: [Move], overtaken: Set<ModelName>
    ) {
        func copies(_ model: ModelName, _ nodes: [NodeSnapshot]) -> Int {
            nodes.filter { $0.health.isInService && ($0.isLoaded(model) || $0.isLoading(model)) }.count
        }
        let overtaken = Set(moves.map(\.model).filter { copies($0, current) > copies($0, planned) })
        return (moves.filter { !overtaken.contains($0.model) }, overtaken)
    }
}
