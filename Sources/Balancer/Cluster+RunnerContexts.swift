/// Requests sent to runners loaded for their context length (`RunnerContexts`).
extension Cluster {
    /// The nodes (indices into `snapshots`) whose copy of `model` Ollama would reload for a request
    /// asking `contextLength`: placement leaves them out while another node can serve the request,
    /// so clients asking different lengths each keep a runner of their own instead of reloading one
    /// back and forth.
    func nodesWithOtherContext(_ model: ModelName, contextLength: Int?, in snapshots: [NodeSnapshot]) -> Set<Int> {
        var nodes: Set<Int> = []
        for snapshot in snapshots where snapshot.hasCopyForOtherContext(model, contextLength: contextLength) {
            nodes.insert(snapshot.index)
        }
        return nodes
    }

    /// The lease's runner now serves the request's context length: tells its node when that is news
    /// (one hop for the first request of a new length, none for the rest), and counts the length
    /// towards the one the model's next planned load is for.
    func noteContextAsked(_ request: Request, lease: Lease) async {
        // A hedge is a second try for a request already counted.
        if !request.isHedge { contextLengthTally.withLock { $0.record(request.model, contextLength: request.contextLength) } }
        let known = lease.node.publishedSnapshot(index: 0)?.runnerContexts
        if let known, !known.isNews(request.model, contextLength: request.contextLength) { return }
        await lease.node.runnerAsked(request.model, contextLength: request.contextLength, now: clock())
    }

    /// The context length most of the model's recent requests asked (nil: none set), for a load
    /// ahead of them (`ContextLengthTally`).
    public func usualContextLength(_ model: ModelName) -> Int? {
        contextLengthTally.withLock { $0.usual(model) }
    }

    /// The context length most of each model's recent requests asked, for models whose requests set
    /// one: what a restart's loads ahead of requests should ask (the state file keeps it).
    public func usualContextLengths() -> [ModelName: Int] {
        contextLengthTally.withLock { $0.usualLengths() }
    }

    /// Starts from the lengths an earlier run's requests asked (`usualContextLengths`), until this
    /// run's requests say otherwise.
    public func seedContextLengths(_ lengths: [ModelName: Int]) {
        contextLengthTally.withLock { tally in
            for (model, length) in lengths { tally.seed(model, contextLength: length) }
        }
    }
}
