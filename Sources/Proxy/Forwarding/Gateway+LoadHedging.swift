import Balancer
import HTTP1

/// A request waiting on a load takes a warm slot that frees elsewhere first.
///
/// A request goes to a cold load (or joins one) when the wait for a warm slot looks longer than the
/// load; the queue drains faster than predicted often enough (answers shorter than the average, a
/// copy that finished loading on another node), and the request then sat out the rest of a load of
/// seconds beside a free slot. While its load runs it looks for a warm slot on another node, with
/// nobody queued for the model; when one is free, the call goes there too, and the first answer
/// wins. The load goes on for whoever comes next: a carried load belongs to its own request
/// (`startCarriedLoad`), and a joined load to whoever started it, so cancelling the call loses
/// nothing.
extension Gateway {
    /// How often a request waiting on a load looks for a warm slot elsewhere, in farm time.
    static let warmSlotLookSeconds = 0.1

    /// Sends the call to the lease's node, where a load is under way for it, and until its head
    /// comes, takes a warm slot that frees on another node (see the type's comment). A carried
    /// load's lease that loses is released once its load has ended, as the node's new copy.
    func openWhileLoading(
        _ call: FarmCall, lease: Lease, carriedLoad: Task<CarriedLoadEnd, Never>?, strategy: ClusterConfig.Strategy,
        excluding: Set<NodeID>
    ) async -> (lease: Lease, result: Result<HTTPClientResponse, UpstreamFailure>, triedNodes: [NodeID]) {
        let look = Duration.milliseconds(max(5, Int64(Self.warmSlotLookSeconds * 1000 * cluster.timeScale)))
        let elsewhere = excluding.union([lease.node.id])
        var pending: HTTPPendingResponse
        switch await open(call, on: lease, overdueAt: .now + look) {
        case .finished(let result): return (lease, result, [lease.node.id])
        case .overdue(let overdue): pending = overdue
        }
        while !Task.isCancelled {
            if await cluster.freeWarmSlotLikely(call.model, contextLength: call.contextLength, excluding: elsewhere) {
                let request = Cluster.Request(
                    model: call.model, strategy: strategy, excluding: elsewhere, conversationKey: call.conversationKey, isHedge: true,
                    contextLength: call.contextLength)
                if case .success(let warm) = await cluster.acquire(request) {
                    hedgesStarted.add(1, ordering: .relaxed)
                    logger.info(
                        "a slot for \(call.model.canonical) freed on node \(warm.nodeConfig.name) while its load ran on node \(lease.nodeConfig.name); sending it there too"
                    )
                    return await race(call, pending: pending, on: lease, against: warm) { loser in
                        await Self.releaseAfterItsLoad(loser, carriedLoad: loser.claim.isColdLoad ? carriedLoad : nil)
                    }
                }
            }
            switch await finishOpening(pending, on: lease, overdueAt: .now + look) {
            case .finished(let result): return (lease, result, [lease.node.id])
            case .overdue(let overdue): pending = overdue
            }
        }
        return (lease, await finishOpening(pending, on: lease), [lease.node.id])
    }

    /// Ends a lease whose call lost to a warm slot elsewhere. A carried load goes on without the call:
    /// its lease ends when the load does, as a copy loaded for nobody (placement sees the load under
    /// way until then, and requests join it); a joined load's lease ends at once.
    static func releaseAfterItsLoad(_ lease: Lease, carriedLoad: Task<CarriedLoadEnd, Never>?) async {
        guard let carriedLoad else {
            await lease.release(.unservedNoFault)
            return
        }
        // Not the client's task: the load may run on after the client has its answer.
        Task { await lease.release(outcomeServingNobody(after: await carriedLoad.value)) }
    }
}
