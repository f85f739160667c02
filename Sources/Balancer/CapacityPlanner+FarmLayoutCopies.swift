/// What a copy in the planned layout is worth keeping: a last copy, a spare, an idle or young one.
extension CapacityPlanner.FarmLayout {
    /// No copy loaded or loading, and requests queued for it: they wait for a load whatever the plan
    /// does, so a last copy taken for it swaps one waiting model for another.
    func isUncovered(_ model: ModelName) -> Bool { (copies[model] ?? 0) == 0 && (demand[model]?.queued ?? 0) > 0 }

    /// A copy whose loss costs less waiting than a move must save to be worth making.
    func isSpare(_ model: ModelName) -> Bool {
        !isLastWantedCopy(model, warm: warmCopies) && evictionCost(model, copies: copies) < settings.minimumNetGainSeconds
    }

    /// What unloading one copy of `victim` costs, with `copies` counted in whole copies: the
    /// waiting its remaining copies add.
    func evictionCost(_ victim: ModelName, copies: [ModelName: Int]) -> Double {
        let count = copies[victim] ?? 1
        return cost(victim, copies: max(0, count - 1)) - cost(victim, copies: count)
    }

    /// What unloading `victim`'s copy on `nodeIndex` costs, from the copies the moves so far
    /// leave it. Where nodes differ in pace, that copy is priced by the part of a copy it serves.
    func evictionCost(_ victim: ModelName, onNode nodeIndex: Int) -> Double {
        guard !paces.isUniform else { return evictionCost(victim, copies: copies) }
        let have = effectiveCopies(victim)
        return max(0, cost(victim, typical: max(0, have - 1 / paces.pace(ofNode: nodeIndex))) - cost(victim, typical: have))
    }

    /// The only warm copy of a model asked for at least once a horizon: unloading it sends the
    /// model's next request to a cold load that pushes out something else.
    func isLastWantedCopy(_ victim: ModelName, warm: [ModelName: Int]) -> Bool {
        (warm[victim] ?? 0) <= 1 && isAskedFor(victim)
    }

    /// Asked for at least once a horizon: a model whose last copy is worth keeping, and whose first
    /// copy the target places before any model's second.
    func isAskedFor(_ model: ModelName) -> Bool { (demand[model]?.rate ?? 0) * settings.horizonSeconds >= 1 }

    /// Waiting one more copy of `model` saves, from the copies the moves so far leave it.
    func nextCopyGain(_ model: ModelName) -> Double {
        guard paces.isUniform else {
            let have = effectiveCopies(model)
            return cost(model, typical: have) - cost(model, typical: have + 1)
        }
        let count = copies[model] ?? 0
        return cost(model, copies: count) - cost(model, copies: count + 1)
    }

    /// Idle, not queued for, and either resident long enough that unloading it is not thrashing
    /// or a copy beyond what its model's demand calls for. The first minute's cold loads follow
    /// the first requests, not demand: a third copy of a middling model must not hold its node
    /// for a minute while the hot model queues on one copy.
    func isEvictable(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
        isIdle(victim, on: node) && !isYoung(victim, on: node)
    }

    /// No request in flight or queued for it, and not loading: unloading it makes nobody wait now.
    func isIdle(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
        node.inFlight(victim) == 0 && !node.isLoading(victim) && (demand[victim]?.queued ?? 0) == 0
    }

    /// A copy a planned load may unload: idle, or (`Settings.drainsBusyCopies`) serving requests
    /// that it finishes first while new ones go elsewhere. Not while it loads, nor while requests
    /// queue for its model: then every copy of it is needed now.
    func isDrainable(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
        settings.drainsBusyCopies
            ? !node.isLoading(victim) && (demand[victim]?.queued ?? 0) == 0 : isIdle(victim, on: node)
    }

    /// Resident for less than the minimum residency, and neither a copy beyond what demand calls for
    /// nor one the target moves away (`isLeftBehindByTarget`).
    func isYoung(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
        now - (node.loadedAt[victim] ?? -.infinity) < settings.minimumResidencySeconds && !isSurplus(victim)
            && !isLeftBehindByTarget(victim, on: node)
    }

    /// A copy the target does not keep on this node, of a model it keeps on fewer nodes than hold it
    /// (and on one at least). A cold start's copies follow the first requests: on a large-first run a
    /// second copy of `phi3:mini` loaded at 22 s was protected as young until 82 s, and the chain of
    /// steps that gave `gemma2:9b` its second copy waited behind it.
    func isLeftBehindByTarget(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
        guard let target, !target.places(victim, on: node.index) else { return false }
        let kept = target.copies(of: victim)
        return kept >= 1 && kept < (copies[victim] ?? 0)
    }

    /// More copies than the model's demand calls for (not counting any for a model not asked for).
    func isSurplus(_ model: ModelName) -> Bool {
        demand[model] != nil && (copies[model] ?? 0) > max(1, wantedCopies(model))
    }
}
