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
    /// (one hop for the first request of a new length, none for the rest), and remembers the length
    /// as the one the model's next planned load should be for.
    func noteContextAsked(_ request: Request, lease: Lease) async {
        usualContextLengths.withLock { lengths in
            if lengths[request.model] != request.contextLength { lengths[request.model] = request.contextLength }
        }
        let known = lease.node.publishedSnapshot(index: 0)?.runnerContexts
        if let known, !known.isNews(request.model, contextLength: request.contextLength) { return }
        await lease.node.runnerAsked(request.model, contextLength: request.contextLength, now: clock())
    }

    /// The context length the model's requests asked last (nil: none set), for a load ahead of them.
    public func usualContextLength(_ model: ModelName) -> Int? {
        usualContextLengths.withLock { $0[model] }
    }
}
