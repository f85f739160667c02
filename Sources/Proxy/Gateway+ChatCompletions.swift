import Balancer
import HTTP1

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

    /// `POST /v1/chat/completions`: validate and translate, resolve the model to its targets, and try
    /// them in the strategy's order; within the farm, retry on another node while nothing has been
    /// sent to the client.
    func chatCompletions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, keyName: String) async {
        let started = ContinuousClock.now
        let body: JSONValue
        let translation: ChatRequestTranslation
        do {
            guard !request.body.isEmpty else { throw APIError.badRequest("request body is empty; send a JSON object") }
            do { body = try JSONParser.parse(request.body) } catch { throw APIError.badRequest("invalid JSON in request body: \(error)") }
            translation = try ChatRequestTranslation.translate(body)
        } catch let error as APIError {
            return await finishWithError(error, writer, keyName: keyName, model: "-", started: started)
        } catch {
            return await finishWithError(APIError(status: 500, "\(error)"), writer, keyName: keyName, model: "-", started: started)
        }
        let requested = body["model"]?.stringValue ?? translation.model
        let plan = RoutePlan.resolve(requested, config: config)
        var failures: [APIError] = []
        for target in attemptOrder(plan) {
            let result: TargetResult
            switch target.destination {
            case .farm(let model):
                result = await serveFromFarm(translation.retargeted(to: model), strategy: plan.strategy, writer: writer)
            case .cloud(let index, let model):
                result = await serveFromCloud(config.cloud[index], model: model, body: body, stream: translation.stream, writer: writer)
            }
            switch result {
            case .done(let status, let usage, let servedBy):
                return logRequest(
                    keyName: keyName, model: requested, node: servedBy, status: status, started: started, usage: usage,
                    stream: translation.stream)
            case .abandoned(let servedBy):
                return logRequest(
                    keyName: keyName, model: requested, node: servedBy, status: 499, started: started, usage: Usage(),
                    stream: translation.stream)
            case .final(let error, let servedBy):
                return await finishWithError(error, writer, keyName: keyName, model: requested, started: started, node: servedBy)
            case .unavailable(let error):
                failures.append(error)
            }
        }
        await finishWithError(Self.combine(failures, model: requested), writer, keyName: keyName, model: requested, started: started)
    }

    /// One error for every target that could not serve: the first status that says more than
    /// "not found" (and its Retry-After), with every target's reason in the message.
    static func combine(_ failures: [APIError], model: String) -> APIError {
        guard var error = failures.first(where: { $0.status != 404 }) ?? failures.first else {
            return APIError(status: 503, "no target can serve model '\(model)'")
        }
        if failures.count > 1 { error.message = failures.map(\.message).joined(separator: "; ") }
        return error
    }

    private func attemptOrder(_ plan: RoutePlan) -> [RoutePlan.Target] {
        guard plan.targets.count > 1 else { return plan.targets }
        let rotation = routeRotation(plan.route ?? "")
        return idRandom.withLock { plan.attemptOrder(rotation: rotation, using: &$0) }
    }

    /// Places the request on the farm's nodes, retrying on another node while nothing has reached the client.
    private func serveFromFarm(_ translation: ChatRequestTranslation, strategy: ClusterConfig.Strategy, writer: HTTPResponseWriter) async
        -> TargetResult
    {
        guard let model = ModelName(translation.model) else {
            return .final(APIError.badRequest("invalid model name", param: "model"), servedBy: "-")
        }
        var ollamaBody = translation.ollamaBody
        if ollamaBody["keep_alive"] == nil, let keepAlive = config.keepAlive, case .object(var fields) = ollamaBody {
            fields["keep_alive"] = keepAlive
            ollamaBody = .object(fields)
        }
        let upstreamBody = ollamaBody.serialized()
        var excluded: Set<Int> = []
        var lastError: APIError?
        while true {
            let lease: Lease
            let placement = Cluster.Request(
                model: model, strategy: strategy, excluding: excluded, conversationKey: translation.conversationKey)
            switch await cluster.acquire(placement) {
            case .success(let acquired):
                lease = acquired
            case .failure(let failure):
                return .unavailable(lastError ?? placementError(failure, model: translation.model))
            }
            let node = lease.node.config
            let outcome = await forward(upstreamBody, translation: translation, lease: lease, writer: writer)
            if case .served(_, let usage) = outcome, usage.complete {
                await lease.release(RequestOutcome(succeeded: true, loadSeconds: usage.loadSeconds))
                cluster.remember(conversation: translation.continuationKey, node: lease.node.index)
            } else {
                await lease.release(.failed)
            }
            switch outcome {
            case .served(let status, let usage):
                return .done(status: status, usage: usage, servedBy: node.name)
            case .retryable(let error):
                logger.warning("node \(node.name) failed \(model.canonical) before the first byte: \(error.message); trying another node")
                excluded.insert(lease.node.index)
                lastError = error
            case .final(let error):
                return .final(error, servedBy: node.name)
            case .abandoned:
                return .abandoned(servedBy: node.name)
            }
        }
    }

    private func placementError(_ failure: PlacementFailure, model: String) -> APIError {
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

    private func finishWithError(
        _ error: APIError, _ writer: HTTPResponseWriter, keyName: String, model: String, started: ContinuousClock.Instant,
        node: String = "-"
    ) async {
        await respond(writer, error, openAI: true)
        logRequest(keyName: keyName, model: model, node: node, status: error.status, started: started, usage: Usage(), stream: false)
    }

    /// One attempt on one node.
    private func forward(_ body: [UInt8], translation: ChatRequestTranslation, lease: Lease, writer: HTTPResponseWriter) async
        -> AttemptOutcome
    {
        let node = lease.node.config
        let upstream = HTTPClientRequest(
            method: "POST", host: node.url.host, port: node.url.port, target: node.url.basePath + "/api/chat",
            headers: ["Content-Type": "application/json", "Accept": "application/json, application/x-ndjson"], body: body)
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
        var translator = ChatResponseTranslation(
            model: translation.model, includeUsage: translation.includeUsage, created: Int64(WallClock.now()), id: newCompletionID())
        if !translation.stream {
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
        _ response: HTTPClientResponse, translator: inout ChatResponseTranslation, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        let answer: JSONValue
        do {
            answer = try JSONParser.parse(try await response.collect())
        } catch {
            if Task.isCancelled { return .abandoned }
            return .retryable(APIError(status: 502, "node \(node.name) sent an incomplete answer: \(error)"))
        }
        if let message = answer["error"]?.stringValue { return .retryable(APIError(status: 502, message)) }
        let completion = translator.completion(from: answer)
        var usage = Usage()
        usage.firstByteAt = .now
        do {
            try await writer.respond(status: 200, headers: ["Content-Type": "application/json"], body: completion.serialized())
        } catch {
            return .abandoned
        }
        usage.record(final: answer)
        return .served(status: 200, usage: usage)
    }

    private func relayStream(
        _ response: HTTPClientResponse, translator: inout ChatResponseTranslation, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        var usage = Usage()
        var splitter = LineSplitter()
        do {
            try await writer.start(
                status: 200, headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"])
        } catch {
            response.close()
            return .abandoned
        }
        do {
            while let piece = try await response.next() {
                var events = [UInt8]()
                for line in try splitter.lines(in: piece) {
                    let chunk = try JSONParser.parse(Array(line))
                    if let message = chunk["error"]?.stringValue {
                        events.append(contentsOf: ChatResponseTranslation.errorEvent(message))
                        try await writer.write(events)
                        try await writer.finish()
                        response.close()
                        return .served(status: 200, usage: usage)
                    }
                    events.append(contentsOf: translator.events(for: chunk))
                    if chunk["done"]?.boolValue == true { usage.record(final: chunk) }
                }
                if !events.isEmpty {
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(events)
                }
            }
        } catch {
            if Task.isCancelled || writer.isBroken {
                response.close()
                return .abandoned
            }
            logger.warning("stream from node \(node.name) broke: \(error)")
            try? await writer.write(ChatResponseTranslation.errorEvent("the node serving this request failed mid-stream: \(error)"))
            try? await writer.finish()
            response.close()
            return .served(status: 200, usage: usage)
        }
        if !usage.complete {
            try? await writer.write(ChatResponseTranslation.errorEvent("node \(node.name) ended the stream before it was complete"))
        }
        try? await writer.finish()
        return .served(status: 200, usage: usage)
    }

    func logRequest(
        keyName: String, model: String, node: String, status: Int, started: ContinuousClock.Instant, usage: Usage, stream: Bool
    ) {
        let total = milliseconds(started.duration(to: .now))
        let firstByte = usage.firstByteAt.map { milliseconds(started.duration(to: $0)) } ?? "-"
        logger.info(
            "request key=\(keyName) model=\(model) node=\(node) status=\(status) stream=\(stream) ttft_ms=\(firstByte) duration_ms=\(total) prompt_tokens=\(usage.promptTokens) completion_tokens=\(usage.completionTokens)"
        )
    }

    private func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String((value * 10).rounded() / 10)
    }
}
