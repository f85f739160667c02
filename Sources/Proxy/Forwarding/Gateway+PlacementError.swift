import APITranslation
import Balancer

extension Gateway {
    /// What the client is told when placement finds no node for its request: the status, code and
    /// Retry-After each kind of refusal means.
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
}
