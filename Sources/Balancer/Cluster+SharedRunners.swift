/// Models served from one runner placed under one name (`SharedRunners`).
extension Cluster {
    /// The name `model` is placed, counted and probed under: its own, or that of the model whose
    /// runner it shares.
    public func runnerModel(_ model: ModelName) -> ModelName { runnerAliases.withLock { $0[model] } ?? model }

    /// For each model whose runner serves others too, those others (what `/status` shows).
    public func modelsSharingRunners() -> [ModelName: [ModelName]] {
        var sharing: [ModelName: [ModelName]] = [:]
        for (model, lead) in runnerAliases.withLock({ $0 }) { sharing[lead, default: []].append(model) }
        return sharing.mapValues { $0.sorted() }
    }

    /// Works out again which models share a runner, from the nodes in service and what `/api/show`
    /// said; returns the aliases that are new, for the operator's log.
    @discardableResult
    public func refreshRunnerAliases() async -> [ModelName: ModelName] {
        let nodes = await snapshots().filter(\.health.isInService).map { snapshot in
            SharedRunners.NodeModels(
                pulled: snapshot.pulled.mapValues(\.digest), sizes: snapshot.pulled.mapValues(\.sizeBytes),
                modifiedAt: snapshot.pulled.compactMapValues(\.modifiedAt))
        }
        let aliases = SharedRunners.aliases(nodes: nodes, facts: describedModels.withLock { $0 })
        let before = runnerAliases.withLock { current in
            defer { current = aliases }
            return current
        }
        return aliases.filter { before[$0.key] != $0.value }
    }

    /// A probe's report with each loaded runner under the name its model is placed under.
    public func withRunnerNames(_ report: ProbeReport) -> ProbeReport {
        let aliases = runnerAliases.withLock { $0 }
        guard !aliases.isEmpty else { return report }
        var renamed = report
        for index in renamed.loaded.indices {
            if let lead = aliases[renamed.loaded[index].name] { renamed.loaded[index].name = lead }
        }
        return renamed
    }
}
