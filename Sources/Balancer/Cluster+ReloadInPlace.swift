/// A request asking a context length no runner of its model serves, placed on a copy reloaded for it.
extension Cluster {
    /// An idle copy of `model` whose runner serves another length, reloaded in place for a request
    /// asking `contextLength`, when its load and the loads ahead of it cost no more than `chosen`, a
    /// cold load on another node with what that unloads.
    /// Expressed as a cold load that unloads the copy itself first (Ollama's own reload: unload, then
    /// load for the new length).
    ///
    /// Only a length at least the node's automatic one: the reloaded runner then serves the
    /// requests that set none as well (`RunnerContexts.ridingLength`), so the node loses nothing,
    /// where a cold load elsewhere unloads another model to make room. With 30 % of conversations
    /// asking 8192, copies loaded for the automatic length before the planner's loads switched to
    /// 8192 made each 8192 request cold-load its model on another node, unloading a model there.
    func reloadInPlace(
        _ model: ModelName, contextLength: Int?, insteadOf chosen: CostModel.Estimate, candidates: Set<Int>,
        snapshots: [NodeSnapshot], now: Double
    ) -> CostModel.Estimate? {
        guard let contextLength, chosen.claim.isColdLoad, chosen.startsNow else { return nil }
        var best: CostModel.Estimate?
        for index in candidates.sorted() {
            let snapshot = snapshots[index]
            guard snapshot.health == .healthy, !snapshot.loadsLookStuck, snapshot.isLoaded(model), snapshot.inFlight(model) == 0,
                let automatic = automaticLength(model, on: snapshot, in: snapshots),
                contextLength >= automatic
            else { continue }
            let load = costModel.predictedLoadSeconds(model, on: snapshot)
            // Not priced as an unloaded copy (`CostModel.evictionCost`): the copy is back after its
            // load, serving the model's requests of both lengths. Priced so, reloads were rarer and
            // runners of both lengths lingered: p95 after warm-up 0.72-1.96 s against 0.33-1.02 s
            // over four runs at 75 % load with 30 % asking 8192, the first minute 1-3 s better.
            let seconds = load + snapshot.loading.values.reduce(0) { $0 + $1.remaining(at: now) }
            guard seconds <= chosen.seconds, seconds < best?.seconds ?? .infinity else { continue }
            best = CostModel.Estimate(
                nodeIndex: index, seconds: seconds, claim: .coldLoad(predictedSeconds: load), startsNow: true, evicting: [model])
        }
        return best
    }
}
