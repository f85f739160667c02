/// The load that brings a planned load's victim back right after it (`CapacityPlanner.Move.comingBack`).
extension OllamaNode {
    /// Claims the load of `model` to follow the load of `lead` here, predicted to be done once the
    /// loads ahead and its own `loadSeconds` are. Placement then sees the copy coming, so a request
    /// for the model joins it or weighs a cold load elsewhere against it, and the planner does not
    /// place the model anew as if it had no copy. Requests that join it wait until the preloader
    /// sends it (`holdsJoinersBack`): sent at once, they would make Ollama load it before `lead`,
    /// beside victims not yet unloaded.
    /// - Returns: the seconds the load is predicted to take from now; nil when it was not claimed: the
    ///   model is here already, still draining (its requests hold the copy), or does not fit beside
    ///   the loads under way and the busy models.
    public func claimComeback(_ model: ModelName, after lead: ModelName, loadSeconds: Double, now: Double) -> Double? {
        defer { currentSnapshot() }  // the next request's placement reads it without a hop
        comebacksAwaitingDrain.remove(model)
        guard health == .healthy, let ahead = loading[lead], loaded[model] == nil, loading[model] == nil, draining[model] == nil,
            fitsWithoutWaiting(model, evicting: [])
        else { return nil }
        let predicted = ahead.remaining(at: now) + loadSeconds
        startLoad(model, predictedSeconds: predicted, now: now)
        loadsAwaitingUnloads.insert(model)
        inFlight[model, default: 0] += 1
        lastUsed[model] = now
        return predicted
    }

    /// Shows the comebacks of `models`, busy victims of the planned load of `lead` that drain here
    /// first, from now: their load can be claimed only once their copy is gone, and until then a
    /// request for one of them saw no copy anywhere. On a 53 % shift a `llama3.2:3b` request 0.6 s
    /// into such a drain cold-loaded it on another node in place of `phi3:mini`'s only copy, and
    /// three more models followed, each unloading the next. Placement now queues such a request
    /// for the comeback (`CostModel.estimate`), and the planner counts the copy as coming.
    public func expectComebacks(_ models: [ModelName], after lead: ModelName) {
        guard loading[lead] != nil else { return }
        for model in models where draining[model] != nil { comebacksAwaitingDrain.insert(model) }
        currentSnapshot()
    }

    /// The comebacks of `models` will not be claimed (their drain was given up, or the load will not
    /// run): placement stops queueing for them.
    public func forgetComebacks(_ models: [ModelName]) {
        guard !comebacksAwaitingDrain.isDisjoint(with: models) else { return }
        comebacksAwaitingDrain.subtract(models)
        currentSnapshot()
    }
}
