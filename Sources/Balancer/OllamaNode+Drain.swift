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

    /// Whether requests joining the load of `model` wait here until it is done: its victims are not
    /// unloaded yet, or another model's load was sent to the node after it. Ollama takes requests that
    /// need scheduling one at a time, first come first served, and a load blocks the rest: a request
    /// for a model still loading queues behind every load sent before it, where once the model is
    /// loaded it goes straight to its runner. At 125 % load a `gemma2:9b` request sent while its
    /// load ran waited 19 s behind `codellama:13b`'s load, holding one of the model's two slots
    /// while 20 requests queued for it.
    public func holdsJoinersBack(_ model: ModelName) -> Bool {
        guard let load = loading[model] else { return false }
        return loadsAwaitingUnloads.contains(model) || loading.contains { $0.key != model && $0.value.startedAt > load.startedAt }
    }

    /// The load's victims are unloaded and the load itself is about to be sent: requests that
    /// joined it may go.
    public func unloadsSent(for model: ModelName) {
        loadsAwaitingUnloads.remove(model)
    }

    /// The planned load was given up while its victims drained: they take requests again.
    public func abandonDrain(_ models: [ModelName]) {
        comebacksAwaitingDrain.subtract(models)
        for model in models {
            if let copy = draining.removeValue(forKey: model) { loaded[model] = copy }
        }
    }
}
