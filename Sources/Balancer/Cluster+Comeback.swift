extension Cluster {
    /// Claims the load that brings `model`, a victim of the planned load `lead`, back on the same
    /// node right after it (`CapacityPlanner.Move.comingBack`); nil when the node will not take it
    /// (`OllamaNode.claimComeback`). End the lease with the load's outcome, like `lead`'s.
    public func claimComeback(_ model: ModelName, on snapshot: NodeSnapshot, after lead: Lease) async -> Lease? {
        let loadSeconds = costModel.predictedLoadSeconds(model, on: snapshot)
        let now = clock()
        guard let predicted = await lead.node.claimComeback(model, after: lead.model, loadSeconds: loadSeconds, now: now) else {
            return nil
        }
        return Lease(
            cluster: self, node: lead.node, nodeConfig: lead.nodeConfig, model: model, claim: .coldLoad(predictedSeconds: predicted),
            startedAt: now)
    }
}
