import Balancer
import HTTP1

/// Hedging: a warm slot whose first byte is overdue gets a second chance on another node.
extension Gateway {
    /// Sends the request to the lease's node and waits for its response head. When a warm slot's
    /// first byte is overdue by a clear margin over what placement predicted (`hedgeAfterMs` plus
    /// twice the prediction), the same request also goes to another holder with a warm slot free;
    /// the first good head wins and the other exchange is cancelled, which frees its slot.
    /// `watchingItsLoad`: the call starts its own load, which `StuckLoadWatch` gives up if it runs
    /// far past its prediction.
    func openHedged(
        _ call: FarmCall, lease: Lease, strategy: ClusterConfig.Strategy, excluding: Set<NodeID>, watchingItsLoad: Bool = false
    ) async -> (lease: Lease, result: Result<HTTPClientResponse, UpstreamFailure>, triedNodes: [NodeID]) {
        let hedgeAfter = hedgeDelay(call, lease: lease)
        guard let hedgeAfter else {
            let watch = stuckLoadWatch
            guard watchingItsLoad, watch.marginMs > 0 else { return (lease, await open(call, on: lease), [lease.node.id]) }
            let watched = await watch.begin(lease)
            switch await open(call, on: lease, overdueAt: watched.deadline) {
            case .finished(let result):
                return (lease, result, [lease.node.id])
            case .overdue:
                // Dropping the exchange closes its connection.
                return (lease, .failure(await watched.giveUp(logger: logger)), [lease.node.id])
            }
        }
        // Most heads come in time: waiting for one with a deadline costs no timer and no child task.
        let pending: HTTPPendingResponse
        switch await open(call, on: lease, overdueAt: .now + hedgeAfter) {
        case .finished(let result): return (lease, result, [lease.node.id])
        case .overdue(let overdue): pending = overdue
        }
        guard !Task.isCancelled else { return (lease, await finishOpening(pending, on: lease), [lease.node.id]) }
        let request = Cluster.Request(
            model: call.model, strategy: strategy, excluding: excluding.union([lease.node.id]), conversationKey: call.conversationKey,
            isHedge: true, contextLength: call.contextLength)
        guard case .success(let hedge) = await cluster.acquire(request) else {
            return (lease, await finishOpening(pending, on: lease), [lease.node.id])
        }
        hedgesStarted.add(1, ordering: .relaxed)
        logger.warning(
            "node \(lease.nodeConfig.name) has not started answering \(call.model.canonical) after \(hedgeAfter); also sending it to node \(hedge.nodeConfig.name)"
        )
        return await race(call, pending: pending, on: lease, against: hedge) { loser in await loser.release(.unservedNoFault) }
    }

    /// Races an exchange under way on `lease` (`pending`) against the same call sent to `hedge`: the
    /// first good head wins and the other exchange is cancelled, which frees its slot; a loser's
    /// lease ends with `releaseLoser`. Exactly one lease comes back, for the caller to release.
    func race(
        _ call: FarmCall, pending: HTTPPendingResponse, on lease: Lease, against hedge: Lease,
        releaseLoser: @escaping @Sendable (Lease) async -> Void
    ) async -> (lease: Lease, result: Result<HTTPClientResponse, UpstreamFailure>, triedNodes: [NodeID]) {
        await withTaskGroup(of: OpenedExchange.self) { group in
            group.addTask { OpenedExchange(lease, await self.finishOpening(pending, on: lease)) }
            group.addTask { OpenedExchange(hedge, await self.open(call, on: hedge)) }
            var running = 2
            let tried = [lease.node.id, hedge.node.id]
            var winner: (Lease, Result<HTTPClientResponse, UpstreamFailure>)?
            var lastFailure: (Lease, Result<HTTPClientResponse, UpstreamFailure>)?
            while let exchange = await group.next() {
                let attempt = exchange.lease
                let result = exchange.result
                running -= 1
                if winner != nil || (Task.isCancelled && running > 0) {
                    // A loser: it lost the race, or the client left and another attempt will stand for
                    // the request. Being slow once is not failing: a node that really hangs stops
                    // answering probes too, and health takes it out then.
                    if case .success(let response) = result { response.close() }
                    await releaseLoser(attempt)
                    continue
                }
                if Task.isCancelled {
                    // The client left: the last attempt goes back to the caller, which sees the
                    // cancellation and gives its slot back (exactly one lease is always returned).
                    lastFailure = (attempt, result)
                    continue
                }
                if case .success = result {
                    winner = (attempt, result)
                    group.cancelAll()
                    continue
                }
                if running > 0 {
                    // The other exchange may still answer: this one's failure is final for its node.
                    if case .failure(let failure) = result { await attempt.release(failure.requestOutcome) }
                    continue
                }
                lastFailure = (attempt, result)
                group.cancelAll()
            }
            // Every attempt ends in `winner` or, the last one to finish, in `lastFailure`.
            guard let (served, result) = winner ?? lastFailure else { preconditionFailure("a hedged request ended without an attempt") }
            return (served, result, tried)
        }
    }

    /// An opened exchange handed from the child task that opened it to the one that relays it.
    // @unchecked Sendable: the response moves once, from the finished child task to its parent, and is never shared.
    struct OpenedExchange: @unchecked Sendable {
        let lease: Lease
        let result: Result<HTTPClientResponse, UpstreamFailure>

        init(_ lease: Lease, _ result: Result<HTTPClientResponse, UpstreamFailure>) {
            self.lease = lease
            self.result = result
        }
    }

    /// When to hedge this call, or nil when hedging is off.
    private func hedgeDelay(_ call: FarmCall, lease: Lease) -> Duration? {
        let margin = config.timeouts.hedgeAfterMs
        guard margin > 0 else { return nil }
        // Only a warm slot has a first byte that can be overdue: a load's length is uncertain (and a
        // hedge for it would start a second load), and the simple strategies hand requests to
        // Ollama's own queue, whose wait is unknown.
        guard lease.claim == .warmSlot else { return nil }
        // A non-streamed answer's head comes only after the whole generation.
        let service = lease.expectedServiceSeconds ?? cluster.costModel.defaultServiceSeconds
        let expected = 2 * lease.expectedStartSeconds + (call.stream ? 0.25 : 1.5) * service
        return .milliseconds(Int64((Double(margin) + expected * 1000) * cluster.timeScale))
    }
}
