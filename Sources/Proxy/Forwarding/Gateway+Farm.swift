import APITranslation
import Balancer
import HTTP1
import WireFormats

/// One request for the farm: what to send to the chosen node and how to turn its answer into
/// what the client asked for. Every API (OpenAI or native) goes through the same placement.
struct FarmCall: Sendable {
    var model: ModelName
    /// The model as the client named it, for error messages.
    var requestedName: String
    /// The node's endpoint, e.g. `/api/chat`.
    var path: String
    var body: [UInt8]
    var stream: Bool
    /// Hash of the conversation before its newest turn (placement), and including it (to remember).
    var conversationKey: UInt64? = nil
    var continuationKey: UInt64? = nil
    /// The request sends images: Ollama encodes them before the request takes a parallel slot, in
    /// time its answer's durations do not name, so that answer says nothing about waiting for a slot.
    var carriesImages = false
    var makeTranslator: @Sendable () -> any AnswerTranslator

    /// Whether an Ollama request body sends images: a generate's `images`, or a chat message's.
    static func sendsImages(_ body: JSONValue) -> Bool {
        body["images"]?.arrayValue?.isEmpty == false
            || body["messages"]?.arrayValue?.contains { $0["images"]?.arrayValue?.isEmpty == false } == true
    }
}

/// How many more attempts one client request may make after a failure before its first byte,
/// across nodes and tiers (`maxRetries` in `cluster.json`).
final class RetryBudget {
    private var left: Int

    init(_ retries: Int) {
        left = retries
    }

    /// Uses up one retry; false when none is left.
    func take() -> Bool {
        guard left > 0 else { return false }
        left -= 1
        return true
    }
}

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
    func serveFromFarm(_ call: FarmCall, strategy: ClusterConfig.Strategy, writer: HTTPResponseWriter, retries: RetryBudget? = nil)
        async -> TargetResult
    {
        let retries = retries ?? RetryBudget(config.maxRetries)
        var excluded: Set<NodeID> = []
        var lastFailure: UpstreamFailure?
        while true {
            let lease: Lease
            let placement = Cluster.Request(
                model: call.model, strategy: strategy, excluding: excluded, conversationKey: call.conversationKey,
                retryKey: call.continuationKey)
            switch await cluster.acquire(placement) {
            case .success(let acquired):
                lease = acquired
            case .failure(let failure):
                let maxWait = Double(config.queue.maxWaitMs) / 1000
                if let line = refusals.line(for: failure, model: call.model, maxWaitSeconds: maxWait, now: Cluster.monotonicSeconds()) {
                    logger.warning(line)
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
            } else if lease.claim == .joinLoad {
                await waitForUnloads(before: lease)
            }
            let attempt = await attemptWithHedge(call, lease: lease, strategy: strategy, excluding: excluded, writer: writer)
            excluded.formUnion(attempt.triedNodes)
            let served = attempt.lease
            let node = served.nodeConfig
            let outcome = attempt.outcome
            var released = Self.releaseOutcome(outcome)
            released.answerStart = attempt.answerStart
            if case .answered(_, let usage) = outcome {
                released.firstByteAt = usage.firstByteAt.map(clusterSeconds)
                released.lastByteAt = usage.lastByteAt.map(clusterSeconds)
                released.nodeTotalSeconds = usage.totalSeconds
                released.nodeSlotWaitSeconds = call.carriesImages ? nil : usage.slotWaitSeconds
            }
            let release = await served.release(released)
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

    func placementError(_ failure: PlacementFailure, model: String) -> APIError {
        switch failure {
        case .modelNotFound:
            return APIError(status: 404, "model '\(model)' not found", param: "model", code: "model_not_found")
        case .noHealthyNode:
            let seconds = max(1, (config.health.intervalMs + 999) / 1000)
            return APIError(
                status: 503, "no healthy node can serve model '\(model)' right now", code: "model_unavailable", retryAfter: seconds)
        case .queueFull(let retryAfter, _):
            return APIError(
                status: 429, "every node that serves model '\(model)' is busy and its wait queue is full; retry later",
                code: "queue_full", retryAfter: retryAfter)
        case .overloaded(let predicted, let retryAfter, _):
            return APIError(
                status: 429,
                "model '\(model)' is overloaded: a request would wait about \(predicted) s for a slot, more than the \(config.queue.maxWaitMs / 1000) s limit; retry later",
                code: "overloaded", retryAfter: retryAfter)
        case .queueTimeout:
            return APIError(
                status: 503, "waited too long for a free slot for model '\(model)'", code: "queue_timeout",
                retryAfter: max(1, config.queue.maxWaitMs / 10_000))
        }
    }

    /// One attempt: opens the exchange on the lease's node and relays the answer.
    private func attemptWithHedge(
        _ call: FarmCall, lease: Lease, strategy: ClusterConfig.Strategy, excluding: Set<NodeID>, writer: HTTPResponseWriter
    ) async -> (lease: Lease, outcome: AttemptOutcome, triedNodes: [NodeID], answerStart: RequestOutcome.AnswerStart) {
        let opened = await openHedged(call, lease: lease, strategy: strategy, excluding: excluding)
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

    /// Sends the call to `node` and waits for the response head; an error status becomes a typed failure.
    func open(_ call: FarmCall, on node: ClusterConfig.NodeConfig) async -> Result<HTTPClientResponse, UpstreamFailure> {
        switch await open(call, on: node, overdueAt: nil) {
        case .finished(let result): return result
        case .overdue(let pending): return await finishOpening(pending, on: node)
        }
    }

    /// What sending a call to a node gave by the moment the caller wanted to hear back.
    enum NodeOpening {
        case finished(Result<HTTPClientResponse, UpstreamFailure>)
        /// No response head yet: the exchange goes on, for `finishOpening` to wait out.
        case overdue(HTTPPendingResponse)
    }

    /// Sends the call to `node` and waits for the response head until `overdueAt` at most.
    func open(_ call: FarmCall, on node: ClusterConfig.NodeConfig, overdueAt: ContinuousClock.Instant?) async -> NodeOpening {
        let upstream = HTTPClientRequest.toNode(
            node.url, path: call.path, body: call.body, accept: "application/json, application/x-ndjson")
        let progress: HTTPClientProgress
        do {
            progress = try await client.execute(upstream, timeouts: upstreamTimeouts, overdueAt: overdueAt)
        } catch {
            return .finished(.failure(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)")))
        }
        switch progress {
        case .response(let response): return .finished(await accepted(response, from: node))
        case .overdue(let pending): return .overdue(pending)
        }
    }

    /// Waits on for the response head of a call that `open(_:on:overdueAt:)` found overdue.
    func finishOpening(_ pending: HTTPPendingResponse, on node: ClusterConfig.NodeConfig) async
        -> Result<HTTPClientResponse, UpstreamFailure>
    {
        let response: HTTPClientResponse
        do {
            response = try await client.response(to: pending)
        } catch {
            return .failure(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)"))
        }
        return await accepted(response, from: node)
    }

    /// The response when the node answered 200; otherwise its error as a typed failure.
    private func accepted(_ response: HTTPClientResponse, from node: ClusterConfig.NodeConfig) async
        -> Result<HTTPClientResponse, UpstreamFailure>
    {
        guard response.status == 200 else {
            let body = (try? await response.collect(limit: 1024 * 1024)) ?? []
            let message = (try? JSONParser.parse(body))?["error"].flatMap(StreamChunkFacts.errorText)
            return .failure(.fromStatus(response.status, message: message ?? "node \(node.name) answered \(response.status)"))
        }
        return .success(response)
    }

    private func relayCompletion(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        let raw: [UInt8]
        do {
            raw = try await response.collect()
        } catch {
            if Task.isCancelled { return .clientLeft }
            return .failed(.noFirstByte("node \(node.name) sent an incomplete answer: \(error)"), usage: Usage())
        }
        // A large answer (many embedding vectors) is decoded and translated off the event loop.
        let facts: StreamChunkFacts
        let body: [UInt8]
        do {
            (facts, body) = try await EventLoops.decoding(byteCount: raw.count) { () throws(UpstreamFailure) in
                let answer: JSONValue
                do { answer = try JSONParser.parse(raw) } catch {
                    throw .status(502, "node \(node.name) sent an incomplete answer: \(error)")
                }
                let facts = StreamChunkFacts(answer)
                if let message = facts.errorMessage { throw .status(502, message) }
                return (facts, translator.completion(from: answer, raw: raw))
            }
        } catch {
            return .failed(error, usage: Usage())
        }
        var usage = Usage()
        usage.firstByteAt = .now
        usage.lastByteAt = usage.firstByteAt
        do {
            try await writer.respond(status: 200, headers: ["Content-Type": translator.completionContentType], body: body)
        } catch {
            return .clientLeft
        }
        usage.record(final: facts)
        return .answered(status: 200, usage: usage)
    }

    private func relayStream(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        var usage = Usage()
        var splitter = JSONStreamSplitter()
        var headers: HTTPHeaders = ["Content-Type": translator.streamContentType]
        if translator.streamContentType == "text/event-stream" {
            headers.add("Cache-Control", "no-cache")
            headers.add("X-Accel-Buffering", "no")
        }
        do {
            try await writer.start(status: 200, headers: headers)
        } catch {
            response.close()
            return .clientLeft
        }
        /// Notes what a chunk means for the stream; returns the node's in-band error, if it was one.
        func note(_ facts: StreamChunkFacts) -> String? {
            if let message = facts.errorMessage { return message }
            if facts.isFinal { usage.record(final: facts) }
            return nil
        }
        var lineTranslator = translator as? any StreamTranslator
        defer { if let lineTranslator { translator = lineTranslator } }
        /// Translates one chunk; returns the node's in-band error, if it was one.
        func take(_ value: ArraySlice<UInt8>, into events: inout [UInt8]) throws(APIError) -> String? {
            let chunk: JSONValue
            do { chunk = try JSONParser.parse(value) } catch { throw APIError(status: 502, "upstream sent malformed JSON: \(error)") }
            let facts = StreamChunkFacts(chunk)
            if let message = facts.errorMessage {
                events.append(contentsOf: translator.errorEvent(message))
                return message
            }
            events.append(contentsOf: lineTranslator?.events(for: chunk) ?? [])
            return note(facts)
        }
        let passThrough = lineTranslator == nil
        var nodeError: String?
        /// Whether the client's copy of a pass-through stream ends in the middle of a line.
        var midLine = false
        do {
            while nodeError == nil, let piece = try await response.next() {
                if passThrough {
                    // The node's bytes go on untouched; each chunk's top level is scanned, not decoded.
                    for value in try splitter.values(in: piece) where nodeError == nil {
                        nodeError = note(try StreamChunkFacts.read(value))
                    }
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(piece)
                    midLine = piece.last != 10
                    continue
                }
                var events = [UInt8]()
                for value in try splitter.values(in: piece) where nodeError == nil {
                    nodeError = try take(value, into: &events)
                }
                if !events.isEmpty {
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(events)
                }
            }
            if nodeError == nil, let rest = splitter.remainder() {
                // A last value without anything after it (a bare scalar, or a truncated object).
                if passThrough {
                    nodeError = note(try StreamChunkFacts.read(rest))
                } else {
                    var events = [UInt8]()
                    nodeError = try take(rest, into: &events)
                    if !events.isEmpty { try await writer.write(events) }
                }
            }
        } catch {
            if Task.isCancelled || writer.isBroken {
                response.close()
                return .clientLeft
            }
            logger.warning("stream from node \(node.name) broke: \(error)")
            await endStream(
                translator, midLine: midLine, writer: writer, error: "the node serving this request failed mid-stream: \(error)")
            response.close()
            return .failed(.cutMidStream("node \(node.name) failed mid-stream: \(error)"), usage: usage)
        }
        if let nodeError {
            try? await writer.finish()
            response.close()
            return .failed(.cutMidStream("node \(node.name) ended the stream with an error: \(nodeError)"), usage: usage)
        }
        if !usage.complete {
            await endStream(
                translator, midLine: midLine, writer: writer, error: "node \(node.name) ended the stream before it was complete")
            return .failed(.cutMidStream("node \(node.name) ended the stream before it was complete"), usage: usage)
        }
        try? await writer.finish()
        return .answered(status: 200, usage: usage)
    }

    /// Ends a broken stream with an in-band error in the client's format. A pass-through relay may
    /// have forwarded part of a line, so it starts the error on a line of its own.
    private func endStream(_ translator: any AnswerTranslator, midLine: Bool, writer: HTTPResponseWriter, error: String) async {
        if midLine { try? await writer.write([10]) }
        try? await writer.write(translator.errorEvent(error))
        try? await writer.finish()
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
