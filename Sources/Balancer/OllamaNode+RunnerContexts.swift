/// Which context length each runner on the node serves (`RunnerContexts`).
extension OllamaNode {
    /// A request asking `contextLength` of `model` was sent here at `now`: the runner serves that
    /// length from now on (Ollama reloads it first if it did not).
    public func runnerAsked(_ model: ModelName, contextLength: Int?, now: Double) {
        guard runnerContexts.isNews(model, contextLength: contextLength) else { return }
        defer { currentSnapshot() }  // the next request's placement reads it without a hop
        if runnerContexts.asked(model, contextLength: contextLength, now: now), loaded[model] != nil {
            reloadsInPlace.insert(model)
        }
    }

    /// A request's answer for `model` began or ended: a reload in place it made Ollama do is over,
    /// and a probe sent before now may have seen the model unloaded in the middle of it.
    func reloadEnded(_ model: ModelName, now: Double) {
        guard reloadsInPlace.remove(model) != nil else { return }
        reloadedAt[model] = now
    }

    /// Takes the context lengths a probe sent at `sentAt` showed, and forgets runners no longer here.
    func learnRunnerContexts(from report: ProbeReport, sentAt: Double) {
        var contexts = runnerContexts
        for model in report.loaded { contexts.reported(model.name, contextLength: model.contextLength, sentAt: sentAt) }
        contexts.keepOnly(Set(loaded.keys).union(loading.keys).union(draining.keys))
        if contexts != runnerContexts { runnerContexts = contexts }
    }
}
