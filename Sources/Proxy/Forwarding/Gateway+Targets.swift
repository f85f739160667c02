import APITranslation
import Balancer
import HTTP1

extension Gateway {
    /// Tries a request's targets (the farm, cloud endpoints, a route's mix) in the route's order
    /// until one serves it, and answers the combined error when none can. Moving on after a target
    /// that sent something spends a retry; a farm that refused a request another target then
    /// served gives back the place it kept for the client's return.
    ///
    /// `farmCall` turns a farm target's model name into the node request (nil: the name is not a
    /// model name); `cloudCall` is what a cloud target is sent (with its endpoint's model name), or
    /// nil where the API has no OpenAI-compatible form a cloud takes (those targets are left out).
    /// `notFound` is the API's own answer when no target has the model (nil: OpenAI's 404).
    func serveTargets(
        _ plan: RoutePlan, requested: String, writer: HTTPResponseWriter, record: inout AccessRecord, dialect: ErrorDialect,
        farmCall: (String) -> FarmCall?, cloudCall: CloudCall?, notFound: ((String) -> APIError)? = nil
    ) async {
        var failures: [APIError] = []
        var lastSpentRetry = false
        let retries = RetryBudget(config.maxRetries)
        // Farm models that refused this request: served by a later target, it will not come back for the place kept.
        var refusedBy: [(model: ModelName, retryKey: UInt64)] = []
        let targets = attemptOrder(plan)
        for (position, target) in targets.enumerated() {
            if case .cloud = target.destination, cloudCall == nil { continue }
            // Moving on to the next target after a failure is a retry too, unless nothing was ever sent.
            if lastSpentRetry && !retries.take() { break }
            let result: TargetResult
            var farmAsked: (model: ModelName, retryKey: UInt64)?
            switch target.destination {
            case .farm(let model):
                guard let call = farmCall(model) else {
                    result = .final(APIError.badRequest("invalid model name", param: "model"), servedBy: "-")
                    break
                }
                farmAsked = call.continuationKey.map { (call.model, $0) }
                let cloudFollows = cloudCall != nil && targets[(position + 1)...].contains(where: \.isCloud)
                result = await serveFromFarm(call, strategy: plan.strategy, writer: writer, retries: retries, fallsBack: cloudFollows)
            case .cloud(let index, let model):
                guard let cloudCall else { continue }
                result = await serveFromCloud(config.cloud[index], model: model, call: cloudCall, writer: writer)
            }
            guard let unavailable = await settle(result, writer, &record, dialect: dialect) else {
                for refused in refusedBy { cluster.withdrawPlaceKept(retryKey: refused.retryKey, model: refused.model) }
                return
            }
            if let farmAsked { refusedBy.append(farmAsked) }
            failures.append(unavailable.error)
            lastSpentRetry = unavailable.spendsRetry
        }
        let error =
            if let notFound, failures.allSatisfy({ $0.status == 404 }) {
                notFound(requested)
            } else if failures.isEmpty {
                APIError(status: 404, "model '\(requested)' not found", param: "model", code: "model_not_found")
            } else {
                Self.combine(failures, model: requested)
            }
        await fail(error, writer, &record, dialect: dialect)
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
}
