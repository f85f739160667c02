import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /v1/chat/completions`: validate and translate, resolve the model to its targets, and try
    /// them in the strategy's order; within the farm, retry on another node while nothing has been
    /// sent to the client.
    func chatCompletions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        let body: JSONValue
        let translation: ChatRequestTranslation
        do {
            guard !request.body.isEmpty else { throw APIError.badRequest("request body is empty; send a JSON object") }
            do { body = try JSONParser.parse(request.body) } catch { throw APIError.badRequest("invalid JSON in request body: \(error)") }
            translation = try ChatRequestTranslation.translate(body)
        } catch let error as APIError {
            return await fail(error, writer, &record, openAI: true)
        } catch {
            return await fail(APIError(status: 500, "\(error)"), writer, &record, openAI: true)
        }
        let requested = body["model"]?.stringValue ?? translation.model
        record.model = requested
        record.stream = translation.stream
        let plan = RoutePlan.resolve(requested, config: config)
        var failures: [APIError] = []
        var lastSpentRetry = false
        let retries = RetryBudget(config.maxRetries)
        // Farm models that refused this request: served by a later target, it will not come back for the place kept.
        var refusedBy: [(model: ModelName, retryKey: UInt64)] = []
        for target in attemptOrder(plan) {
            // Moving on to the next target after a failure is a retry too, unless nothing was ever sent.
            if lastSpentRetry && !retries.take() { break }
            let result: TargetResult
            var farmAsked: (model: ModelName, retryKey: UInt64)?
            switch target.destination {
            case .farm(let model):
                guard let call = farmCall(translation.retargeted(to: model)) else {
                    result = .final(APIError.badRequest("invalid model name", param: "model"), servedBy: "-")
                    break
                }
                farmAsked = call.continuationKey.map { (call.model, $0) }
                result = await serveFromFarm(call, strategy: plan.strategy, writer: writer, retries: retries)
            case .cloud(let index, let model):
                result = await serveFromCloud(config.cloud[index], model: model, body: body, stream: translation.stream, writer: writer)
            }
            guard let unavailable = await settle(result, writer, &record, openAI: true) else {
                for refused in refusedBy { cluster.withdrawPlaceKept(retryKey: refused.retryKey, model: refused.model) }
                return
            }
            if let farmAsked { refusedBy.append(farmAsked) }
            failures.append(unavailable.error)
            lastSpentRetry = unavailable.spendsRetry
        }
        await fail(Self.combine(failures, model: requested), writer, &record, openAI: true)
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

    /// The node request for a translated chat: `/api/chat`, the config's `keep_alive` when the client sent none.
    private func farmCall(_ translation: ChatRequestTranslation) -> FarmCall? {
        guard let model = translation.modelName else { return nil }
        var ollamaBody = translation.ollamaBody
        if ollamaBody["keep_alive"] == nil, let keepAlive = config.keepAlive, case .object(var fields) = ollamaBody {
            fields["keep_alive"] = keepAlive
            ollamaBody = .object(fields)
        }
        let requested = translation.model
        let includeUsage = translation.includeUsage
        var call = FarmCall(
            model: model, requestedName: requested, path: "/api/chat", body: ollamaBody.serialized(), stream: translation.stream,
            conversationKey: translation.conversationKey, continuationKey: translation.continuationKey,
            makeTranslator: { [self] in
                ChatResponseTranslation(
                    model: requested, includeUsage: includeUsage, created: Int64(WallClock.now()), id: newCompletionID())
            })
        call.carriesImages = FarmCall.sendsImages(ollamaBody)
        return call
    }

}
