/// Planned loads that unload busy copies: the copies drain (take no new request, finish their own)
/// before the load is sent, and requests that join the load wait until its victims are unloaded.
extension OllamaNode {
    /// Whether any of `models` still drains here: a copy a planned load unloads, with requests running.
    public func isDraining(_ models: [ModelName]) -> Bool {
        models.contains { draining[$0] != nil && (inFlight[$0] ?? 0) > 0 }
    }

    /// The planned load's drained victims are unloaded now (TensorWall is about to unload them).
    public func finishDrain(_ models: [ModelName], now: Double) {
        for model in models where draining.removeValue(forKey: model) != nil {
            loadedAt[model] = nil
            evictedAt[model] = now
            evictionsByModel[model, default: 0] += 1
        }
    }

    /// Whether requests joining the load of `model` wait: its victims are not unloaded yet.
    public func holdsJoinersBack(_ model: ModelName) -> Bool {
        loadsAwaitingUnloads.contains(model) && loading[model] != nil
    }

    /// The load's victims are unloaded and the load itself is about to be sent: requests that
    /// joined it may go.
    public func unloadsSent(for model: ModelName) {
        loadsAwaitingUnloads.remove(model)
    }

    /// The planned load was given up while its victims drained: they take requests again.
    public func abandonDrain(_ models: [ModelName]) {
        for model in models {
            if let copy = draining.removeValue(forKey: model) { loaded[model] = copy }
        }
    }
}
