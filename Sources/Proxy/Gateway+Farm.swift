import Balancer
import HTTP1

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
    var makeTranslator: @Sendable () -> any AnswerTranslator
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
        /// Answered (fully, or a stream that ended cleanly or with an in-band error).
        case served(status: Int, usage: Usage)
        /// Failed before anything reached the client: another node may serve it.
        case retryable(APIError)
        /// Failed in a way another node would not fix (the client's own error).
        case final(APIError)
        /// The client went away.
        case abandoned
    }

    struct Usage {
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var firstByteAt: ContinuousClock.Instant?
        var complete = false
        /// Ollama's `load_duration` in seconds, when the answer reported it.
        var loadSeconds: Double?

        mutating func record(final answer: JSONValue) {
            promptTokens = answer["prompt_eval_count"]?.intValue ?? 0
            completionTokens = answer["eval_count"]?.intValue ?? 0
            loadSeconds = answer["load_duration"]?.intValue.map { Double($0) / 1e9 }
            complete = true
        }
    }

    /// How serving from one target (the farm, or a cloud endpoint) ended.
    enum TargetResult {
        case done(status: Int, usage: Usage, servedBy: String)
        /// This target could not serve; the next one may.
        case unavailable(APIError)
        /// No target would do better (the client's own error).
        case final(APIError, servedBy: String)
        case abandoned(servedBy: String)
    }

    /// Places the call on the farm's nodes, retrying on another node while nothing has reached the client.
    func serveFromFarm(_ call: FarmCall, strategy: ClusterConfig.Strategy, writer: HTTPResponseWriter, retries: RetryBudget? = nil)
        async -> TargetResult
    {
        let retries = retries ?? RetryBudget(config.maxRetries)
        var excluded: Set<Int> = []
        var lastError: APIError?
        while true {
            let lease: Lease
            let placement = Cluster.Request(
                model: call.model, strategy: strategy, excluding: excluded, conversationKey: call.conversationKey)
            switch await cluster.acquire(placement) {
            case .success(let acquired):
                lease = acquired
            case .failure(let failure):
                return .unavailable(lastError ?? placementError(failure, model: call.requestedName))
            }
            let node = lease.node.config
            let outcome = await forward(call, lease: lease, writer: writer)
            let ejected = await lease.release(Self.releaseOutcome(outcome))
            if case .served(_, let usage) = outcome, usage.complete, let key = call.continuationKey {
                cluster.remember(conversation: key, node: lease.node.index)
            }
            if ejected {
                let until = cluster.passiveHealth(lease.node.index).ejectedUntil.map { Int(($0 - cluster.now).rounded()) } ?? 0
                logger.warning("node \(node.name) ejected for \(until) s after \(config.outlier.consecutiveFailures) failures in a row")
            }
            switch outcome {
            case .served(let status, let usage):
                return .done(status: status, usage: usage, servedBy: node.name)
            case .retryable(let error):
                excluded.insert(lease.node.index)
                lastError = error
                guard retries.take() else {
                    logger.warning(
                        "node \(node.name) failed \(call.model.canonical) before the first byte: \(error.message); no retries left")
                    return .unavailable(error)
                }
                logger.warning(
                    "node \(node.name) failed \(call.model.canonical) before the first byte: \(error.message); trying another node")
            case .final(let error):
                return .final(error, servedBy: node.name)
            case .abandoned:
                return .abandoned(servedBy: node.name)
            }
        }
    }

    /// What the node actor and passive health learn from an attempt.
    static func releaseOutcome(_ outcome: AttemptOutcome) -> RequestOutcome {
        switch outcome {
        case .served(_, let usage) where usage.complete:
            return RequestOutcome(succeeded: true, loadSeconds: usage.loadSeconds)
        case .served:
            return .nodeFailed  // the stream was cut or ended in an error
        case .retryable(let error):
            if error.status == 429 || (error.status == 503 && error.message.contains("server busy")) { return .nodeBusy }
            return error.status == 404 ? .failed : .nodeFailed
        case .final, .abandoned:
            return .failed
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
        case .queueFull(let retryAfter):
            return APIError(
                status: 429, "every node that serves model '\(model)' is busy and its wait queue is full; retry later",
                code: "queue_full", retryAfter: retryAfter)
        case .queueTimeout:
            return APIError(
                status: 503, "waited too long for a free slot for model '\(model)'", code: "queue_timeout",
                retryAfter: max(1, config.queue.maxWaitMs / 10_000))
        }
    }

    /// One attempt on one node.
    private func forward(_ call: FarmCall, lease: Lease, writer: HTTPResponseWriter) async -> AttemptOutcome {
        let node = lease.node.config
        let upstream = HTTPClientRequest(
            method: "POST", host: node.url.host, port: node.url.port, target: node.url.basePath + call.path,
            headers: ["Content-Type": "application/json", "Accept": "application/json, application/x-ndjson"], body: call.body)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(upstream, timeouts: upstreamTimeouts)
        } catch {
            if Task.isCancelled { return .abandoned }
            return .retryable(APIError(status: 502, "node \(node.name) unreachable: \(error)"))
        }
        if response.status != 200 {
            return await upstreamError(response, node: node)
        }
        await lease.firstByteArrived()
        var translator = call.makeTranslator()
        if !call.stream {
            return await relayCompletion(response, translator: &translator, node: node, writer: writer)
        }
        return await relayStream(response, translator: &translator, node: node, writer: writer)
    }

    private func upstreamError(_ response: HTTPClientResponse, node: ClusterConfig.NodeConfig) async -> AttemptOutcome {
        let body = (try? await response.collect(limit: 1024 * 1024)) ?? []
        let message = (try? JSONParser.parse(body))?["error"]?.stringValue ?? "node \(node.name) answered \(response.status)"
        switch response.status {
        case 400, 401, 403, 413, 422:
            return .final(APIError(status: response.status, message))
        default:
            // 404 (not pulled there after all), 429, 5xx: another node may well serve it.
            let status = response.status == 404 ? 404 : (response.status >= 500 ? response.status : 502)
            return .retryable(APIError(status: status, message))
        }
    }

    private func relayCompletion(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        let raw: [UInt8]
        do {
            raw = try await response.collect()
        } catch {
            if Task.isCancelled { return .abandoned }
            return .retryable(APIError(status: 502, "node \(node.name) sent an incomplete answer: \(error)"))
        }
        // A large answer (many embedding vectors) is decoded and translated off the event loop.
        let answer: JSONValue
        let body: [UInt8]
        do {
            (answer, body) = try await EventLoops.decoding(byteCount: raw.count) { () throws(APIError) in
                let answer: JSONValue
                do { answer = try JSONParser.parse(raw) } catch {
                    throw APIError(status: 502, "node \(node.name) sent an incomplete answer: \(error)")
                }
                if let message = answer["error"]?.stringValue { throw APIError(status: 502, message) }
                return (answer, translator.completion(from: answer, raw: raw))
            }
        } catch {
            return .retryable(error)
        }
        var usage = Usage()
        usage.firstByteAt = .now
        do {
            try await writer.respond(status: 200, headers: ["Content-Type": translator.completionContentType], body: body)
        } catch {
            return .abandoned
        }
        usage.record(final: answer)
        return .served(status: 200, usage: usage)
    }

    private func relayStream(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        var usage = Usage()
        var splitter = LineSplitter()
        var headers: HTTPHeaders = ["Content-Type": translator.streamContentType]
        if translator.streamContentType == "text/event-stream" {
            headers.add("Cache-Control", "no-cache")
            headers.add("X-Accel-Buffering", "no")
        }
        do {
            try await writer.start(status: 200, headers: headers)
        } catch {
            response.close()
            return .abandoned
        }
        /// Translates one line; false when it was an in-band error and the stream is over.
        func take(_ line: ArraySlice<UInt8>, into events: inout [UInt8]) throws -> Bool {
            let chunk = try JSONParser.parse(line)
            if let message = chunk["error"]?.stringValue {
                events.append(contentsOf: translator.errorEvent(message))
                return false
            }
            events.append(contentsOf: translator.events(for: chunk, raw: line))
            if chunk["done"]?.boolValue == true { usage.record(final: chunk) }
            return true
        }
        let passThrough = translator.passesBytesThrough
        var endsMidLine = false
        /// A pass-through relay may have forwarded part of a line: end it before an error line.
        func endHalfSentLine() async {
            if passThrough && (splitter.hasPartialLine || endsMidLine) { try? await writer.write([10]) }
        }
        /// Pass-through: parses a line only if it can end the stream; false when it was an error.
        func inspect(_ line: ArraySlice<UInt8>) throws -> Bool {
            guard Self.mayEndStream(line) else { return true }
            let chunk = try JSONParser.parse(line)
            if chunk["error"] != nil { return false }
            if chunk["done"]?.boolValue == true { usage.record(final: chunk) }
            return true
        }
        do {
            var open = true
            while open, let piece = try await response.next() {
                if passThrough {
                    // The node's bytes go on untouched; only a final or error line is parsed.
                    for line in try splitter.lines(in: piece) where open { open = try inspect(line) }
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(piece)
                    continue
                }
                var events = [UInt8]()
                for line in try splitter.lines(in: piece) where open {
                    open = try take(line, into: &events)
                }
                if !events.isEmpty {
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(events)
                }
            }
            if passThrough, open, let rest = splitter.remainder(), !rest.isEmpty {
                endsMidLine = true  // already forwarded without its newline
                open = try inspect(rest)
            }
            if open, let rest = splitter.remainder(), !rest.isEmpty {
                var events = [UInt8]()
                open = try take(rest, into: &events)
                if !events.isEmpty { try await writer.write(events) }
            }
            if !open {
                try await writer.finish()
                response.close()
                return .served(status: 200, usage: usage)
            }
        } catch {
            if Task.isCancelled || writer.isBroken {
                response.close()
                return .abandoned
            }
            logger.warning("stream from node \(node.name) broke: \(error)")
            await endHalfSentLine()
            try? await writer.write(translator.errorEvent("the node serving this request failed mid-stream: \(error)"))
            try? await writer.finish()
            response.close()
            return .served(status: 200, usage: usage)
        }
        if !usage.complete {
            await endHalfSentLine()
            try? await writer.write(translator.errorEvent("node \(node.name) ended the stream before it was complete"))
        }
        try? await writer.finish()
        return .served(status: 200, usage: usage)
    }

    /// Whether an NDJSON line could be the last of a stream (`"done":true`) or an error: the only
    /// lines a pass-through relay needs to parse. Ollama writes compact JSON, so a byte search does.
    static func mayEndStream(_ line: ArraySlice<UInt8>) -> Bool {
        contains(line, doneMarker) || contains(line, errorMarker)
    }

    /// A plain byte search: Foundation's generic `firstRange(of:)` allocated on every call and
    /// showed at the top of the streaming profile.
    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { bytes in
            guard let first = needle.first, bytes.count >= needle.count else { return false }
            var index = 0
            let last = bytes.count - needle.count
            while index <= last {
                if bytes[index] == first {
                    var offset = 1
                    while offset < needle.count && bytes[index + offset] == needle[offset] { offset += 1 }
                    if offset == needle.count { return true }
                }
                index += 1
            }
            return false
        }
    }

    private static let doneMarker = Array(#""done":true"#.utf8)
    private static let errorMarker = Array(#""error""#.utf8)

    /// The one line per request (key name, model, node, status, time to first token, duration,
    /// tokens; never prompt text), the usage ledger behind `/metrics`, and the usage log.
    func logRequest(
        keyName: String, model: String, node: String, status: Int, started: ContinuousClock.Instant, usage: Usage, stream: Bool
    ) {
        let elapsed = started.duration(to: .now)
        let firstToken = usage.firstByteAt.map { started.duration(to: $0) }
        logger.info(
            "request key=\(keyName) model=\(model) node=\(node) status=\(status) stream=\(stream) ttft_ms=\(firstToken.map(milliseconds) ?? "-") duration_ms=\(milliseconds(elapsed)) prompt_tokens=\(usage.promptTokens) completion_tokens=\(usage.completionTokens)"
        )
        let entry = UsageLedger.Entry(
            at: WallClock.now(), apiKey: keyName, model: model, node: node, status: status, stream: stream,
            firstTokenSeconds: firstToken.map(Self.seconds), durationSeconds: Self.seconds(elapsed), promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens)
        self.usage.record(entry)
        usageLog?.append(entry)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String((value * 10).rounded() / 10)
    }
}
