/// A cheap look for a free warm slot, for a request that waits on a load to ask often.
extension Cluster {
    /// Whether a node outside `excluding` has a warm copy of `model` for the request's context
    /// length with a slot free, and nobody is queued for the model: read from the snapshots placement
    /// reads (a node's published one without a hop, while it is current), with passive health
    /// applied. A hint only: `acquire` decides.
    /// A request waiting on a cold load asks it every few tens of milliseconds
    /// (`Gateway.openWhileLoading`), and placing it each time would cost a whole placement per ask.
    public func freeWarmSlotLikely(_ requested: ModelName, contextLength: Int?, excluding: Set<NodeID>) async -> Bool {
        let model = runnerModel(requested)
        guard queues.isEmpty(model) else { return false }
        let snapshots = await placementSnapshots()
        let atLeast = current.numCtx == .atLeast
        return snapshots.contains { snapshot in
            !excluding.contains(snapshot.id) && snapshot.health == .healthy && snapshot.isLoaded(model)
                && snapshot.inFlight(model) < snapshot.maxParallel
                && snapshot.runnerContexts.serves(
                    model, contextLength: contextLength,
                    farmAutomatic: contextLength == nil || atLeast ? automaticLength(model, on: snapshot, in: snapshots) : nil,
                    atLeast: atLeast)
        }
    }
}
