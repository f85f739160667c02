import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// How one attempt on one node ended.
    enum AttemptOutcome {
        /// A full answer reached the client.
        case answered(status: Int, usage: Usage)
        /// No full answer: see the failure for whether another node may still serve it. `usage`
        /// holds what a stream cut mid-way had already delivered.
        case failed(UpstreamFailure, usage: Usage)
        /// The client went away.
        case clientLeft
    }

    struct Usage {
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var firstByteAt: ContinuousClock.Instant?
        /// When the node's final chunk (or whole answer) arrived, before it was passed on.
        var lastByteAt: ContinuousClock.Instant?
        /// True once the answer was delivered whole (a stream's final chunk, or a complete body).
        var complete = false
        /// Ollama's `load_duration` in seconds, when the answer reported it.
        var loadSeconds: Double?
        /// Ollama's `total_duration` in seconds, when the answer reported it.
        var totalSeconds: Double?
        /// Seconds the answer waited in Ollama for a parallel slot (`StreamChunkFacts.slotWaitSeconds`).
        var slotWaitSeconds: Double?

        mutating func record(final facts: StreamChunkFacts) {
            promptTokens = facts.promptEvalCount ?? 0
            completionTokens = facts.evalCount ?? 0
            loadSeconds = facts.loadDuration.map { Double($0) / 1e9 }
            totalSeconds = facts.totalDuration.map { Double($0) / 1e9 }
            slotWaitSeconds = facts.slotWaitSeconds
            complete = true
            if lastByteAt == nil { lastByteAt = .now }
        }
    }

    /// How serving from one target (the farm, or a cloud endpoint) ended.
    enum TargetResult {
        /// The client got an answer: whole when `usage.complete`, else cut mid-way (logged as failed).
        case done(status: Int, usage: Usage, servedBy: String)
        /// This target could not serve; the next one may. `spendsRetry` is false when nothing was
        /// ever sent (every failure was a refused connect), so moving on costs the request nothing.
        case unavailable(APIError, spendsRetry: Bool)
        /// No target would do better (the client's own error).
        case final(APIError, servedBy: String)
        case abandoned(servedBy: String)
    }

    /// Places the call on the farm's nodes, retrying on another node while nothing has reached the
    /// client. A refused connect is retried on the next holder without using up the retry budget.
    /// `fallsBack`: a later target (a cloud endpoint) serves the request if the farm refuses it.
    func serveFromFarm(
        _ call: FarmCall, strategy: ClusterConfig.Strategy, writer: HTTPResponseWriter, retries: RetryBudget? = nil, fallsBack: Bool = false
    ) async -> TargetResult {
        let retries = retries ?? RetryBudget(config.maxRetries)
        // Nodes lately found to have no route for the path are left out, and say why if no other serves.
        var excluded = absentRoutes.nodes(lacking: call.path, now: Cluster.monotonicSeconds())
        let knownAbsence: UpstreamFailure? =
            excluded.isEmpty
            ? nil : .routeAbsent("\(excluded.count) node(s) have no route for this API (\(call.path)): their Ollama may predate it")
        var lastFailure: UpstreamFailure?
        while true {
            let lease: Lease
            var carriedLoad: Task<CarriedLoadEnd, Never>?
            let placement = Cluster.Request(
                model: call.model, strategy: strategy, excluding: excluded, conversationKey: call.conversationKey,
                retryKey: call.continuationKey, contextLength: call.contextLength, fallsBack: fallsBack)
            switch await cluster.acquire(placement) {
            case .success(let acquired):
                lease = acquired
            case .failure(let failure):
                // The client left while its request waited: nothing was turned away, and no other target is owed it.
                if Task.isCancelled { return .abandoned(servedBy: "-") }
                let maxWait = Double(config.queue.maxWaitMs) / 1000
                if let line = refusals.line(for: failure, model: call.model, maxWaitSeconds: maxWait, now: Cluster.monotonicSeconds()) {
                    logger.warning(line)
                }
                // With every holder left out for lacking the API, that is what the client hears.
                if lastFailure == nil, failure == .noHealthyNode, let knownAbsence {
                    return .unavailable(knownAbsence.clientError, spendsRetry: false)
                }
                // After a failed attempt, "no other node" is best told by that attempt's own error;
                // a queue that is full or too slow says more than it.
                guard let lastFailure, failure == .noHealthyNode || failure == .modelNotFound else {
                    return .unavailable(placementError(failure, model: call.requestedName), spendsRetry: true)
                }
                return .unavailable(lastFailure.clientError, spendsRetry: lastFailure.spendsRetry)
            }
            if case .coldLoad(let predicted) = lease.claim {
                let queued = cluster.queuedRequests(call.model)
                logger.info(ColdLoadLog.line(for: lease, predicted: predicted, queued: queued))
                let unloader = ModelUnloader(cluster: cluster, client: client, timeouts: upstreamTimeouts, logger: logger)
                // A model with no copy anywhere drains busy victims (`Cluster.claimDrainingLoad`); if
                // they outlast the wait, the slot was given back: look again, as often as a retry may.
                guard await unloader.drain(for: lease) else {
                    guard retries.take() else {
                        return .unavailable(placementError(.queueTimeout, model: call.requestedName), spendsRetry: true)
                    }
                    continue
                }
                for victim in lease.evicting { await unloader.unload(victim, on: lease.nodeConfig) }
                await lease.node.unloadsSent(for: call.model)
                carriedLoad = await startCarriedLoad(call, on: lease)
            } else if lease.claim == .joinLoad {
                await waitForUnloads(before: lease)
            }
            // A cold load no load-only request carries (an embedding's) is watched on the call itself.
            let attempt = await attemptWithHedge(
                call, lease: lease, strategy: strategy, excluding: excluded, writer: writer,
                watchingItsLoad: lease.claim.isColdLoad && carriedLoad == nil, carriedLoad: carriedLoad)
            excluded.formUnion(attempt.triedNodes)
            let served = attempt.lease
            let node = served.nodeConfig
            let outcome = attempt.outcome
            var released = Self.releaseOutcome(outcome)
            released.answerStart = attempt.answerStart
            // The call may have been served by a warm slot elsewhere (`openWhileLoading`), which
            // released the loading lease itself.
            if let carriedLoad, served.claim.isColdLoad {
                released.loadCarried = true
                if case .clientLeft = outcome {
                    // The client left; the load went on. A stream it left mid-way still began.
                    released = Self.outcomeServingNobody(after: await carriedLoad.value)
                    released.answerStart = attempt.answerStart
                }
            }
            if case .answered(_, let usage) = outcome {
                released.firstByteAt = usage.firstByteAt.map(clusterSeconds)
                released.lastByteAt = usage.lastByteAt.map(clusterSeconds)
                released.nodeTotalSeconds = usage.totalSeconds
                released.nodeSlotWaitSeconds = call.carriesImages ? nil : usage.slotWaitSeconds
            }
            let release = await served.release(released)
            logLessons(of: release, node: node)
            let ejected = release.ejected
            if case .answered(_, let usage) = outcome, usage.complete, let key = call.continuationKey {
                cluster.remember(conversation: key, node: served.node.id)
            }
            if ejected {
                let until = cluster.passiveHealth(served.node.id).ejectedUntil.map { Int(($0 - cluster.now).rounded()) } ?? 0
                logger.warning("node \(node.name) ejected for \(until) s after \(config.outlier.consecutiveFailures) failures in a row")
            }
            switch outcome {
            case .answered(let status, let usage):
                return .done(status: status, usage: usage, servedBy: node.name)
            case .failed(.cutMidStream, let usage):
                return .done(status: 200, usage: usage, servedBy: node.name)
            case .failed(let failure, _) where failure.isRetryable:
                lastFailure = failure
                if case .routeAbsent = failure { absentRoutes.remember(served.node.id, lacks: call.path, now: Cluster.monotonicSeconds()) }
                if failure.spendsRetry && !retries.take() {
                    logger.warning("node \(node.name) failed \(call.model.canonical) before the first byte: \(failure); no retries left")
                    return .unavailable(failure.clientError, spendsRetry: true)
                }
                logger.warning("node \(node.name) failed \(call.model.canonical) before the first byte: \(failure); trying another node")
            case .failed(let failure, _):
                return .final(failure.clientError, servedBy: node.name)
            case .clientLeft:
                return .abandoned(servedBy: node.name)
            }
        }
    }

    /// Logs what a release taught the node's actor: a slot count proved or lowered, or a node whose
    /// reported durations run on another clock.
    private func logLessons(of release: Lease.Released, node: ClusterConfig.NodeConfig) {
        switch release.parallelSlots {
        case .proved(let slots):
            logger.info("node \(node.name) serves \(slots) requests per model at once (a probe found a slot more than known)")
        case .lowered(let slots):
            logger.warning(
                "node \(node.name) serves at most \(slots) request\(slots == 1 ? "" : "s") per model at once (Ollama kept requests waiting for a slot TensorWall counted free; check OLLAMA_NUM_PARALLEL and maxParallel)"
            )
        case nil:
            break
        }
        if let scale = release.reportedDurationScale {
            if scale == 1 {
                logger.info("node \(node.name) reports durations on TensorWall's clock again")
            } else {
                let share = String(format: "%.2f", 1 / scale)
                logger.warning(
                    "node \(node.name) reports durations at \(share)x the time they take here (a simulator on its own clock?); TensorWall scales them to its own"
                )
            }
        }
    }

    /// Holds a request that joined a load back until the load's victims are unloaded
    /// (`OllamaNode.holdsJoinersBack`). The load gives up its drain within a few answer times, and
    /// then lets its joiners go; the cap only guards against an unload that never returns.
    func waitForUnloads(before lease: Lease) async {
        let deadline = cluster.now + Self.longestWaitForUnloadsSeconds
        while await lease.node.holdsJoinersBack(lease.model), cluster.now < deadline, !Task.isCancelled {
            try? await Task.sleep(nanoseconds: ModelUnloader.drainPollNanoseconds)
        }
    }

    static let longestWaitForUnloadsSeconds = 120.0

    /// What the node actor and passive health learn from an attempt.
    static func releaseOutcome(_ outcome: AttemptOutcome) -> RequestOutcome {
        switch outcome {
        case .answered(_, let usage):
            return RequestOutcome(succeeded: true, loadSeconds: usage.loadSeconds)
        case .failed(let failure, _):
            return failure.requestOutcome
        case .clientLeft:
            return .unservedNoFault
        }
    }

    /// One attempt: opens the exchange on the lease's node and relays the answer.
    private func attemptWithHedge(
        _ call: FarmCall, lease: Lease, strategy: ClusterConfig.Strategy, excluding: Set<NodeID>, writer: HTTPResponseWriter,
        watchingItsLoad: Bool, carriedLoad: Task<CarriedLoadEnd, Never>?
    ) async -> (lease: Lease, outcome: AttemptOutcome, triedNodes: [NodeID], answerStart: RequestOutcome.AnswerStart) {
        // A call whose load someone else's request carries can leave it for a warm slot elsewhere;
        // one that loads its model itself (an embedding) would abort its load (`openWhileLoading`).
        let waitsOnALoad = carriedLoad != nil || lease.claim == .joinLoad
        let opened =
            waitsOnALoad && strategy == .affinity && config.timeouts.hedgeAfterMs > 0
            ? await openWhileLoading(call, lease: lease, carriedLoad: carriedLoad, strategy: strategy, excluding: excluding)
            : await openHedged(call, lease: lease, strategy: strategy, excluding: excluding, watchingItsLoad: watchingItsLoad)
        let served = opened.lease
        let response: HTTPClientResponse
        switch opened.result {
        case .failure(let failure):
            if Task.isCancelled { return (served, .clientLeft, opened.triedNodes, .notBegun) }
            return (served, .failed(failure, usage: Usage()), opened.triedNodes, .notBegun)
        case .success(let answer):
            response = answer
        }
        // A whole answer's head comes with its end: its release reports the first byte too.
        let answerStart: RequestOutcome.AnswerStart = call.stream ? .reported : .unreported
        if answerStart == .reported { await served.firstByteArrived() }
        var translator = call.makeTranslator()
        let node = served.nodeConfig
        let outcome =
            call.stream
            ? await relayStream(response, translator: &translator, node: node, writer: writer)
            : await relayCompletion(response, translator: &translator, node: node, writer: writer)
        return (served, outcome, opened.triedNodes, answerStart)
    }

    /// A moment the relay saw, in the cluster's farm seconds: what the node actor sets it against
    /// (parallel-slot discovery compares when answers began and ended).
    private func clusterSeconds(_ instant: ContinuousClock.Instant) -> Double {
        cluster.now - Self.seconds(instant.duration(to: .now)) / cluster.timeScale
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

}
