import Balancer
import Foundation
import Synchronization

/// Requests the farm turned away for load: counted per model and reason for `/metrics`, and logged
/// at most once per model every `intervalSeconds`. At overload the farm refuses hundreds of requests
/// a second, and a line each would bury the rest of the log; an operator needs why, not each one. A
/// line carries the numbers the refusal was decided on (`RefusalBasis`) and how many were turned
/// away since the model's last line.
final class RefusalLog: Sendable {
    static let intervalSeconds = 10.0

    private struct Entry {
        var lastLineAt: Double
        var since = 0
    }

    private struct State {
        var lines: [ModelName: Entry] = [:]
        var totals: [Reason: Int] = [:]
    }

    private let state = Mutex(State())

    /// A model and the `code` of the error its requests were turned away with.
    struct Reason: Hashable, Comparable {
        var model: ModelName
        var code: String
        static func < (a: Reason, b: Reason) -> Bool { (a.model, a.code) < (b.model, b.code) }
    }

    /// Refusals so far, per model and reason.
    var counts: [Reason: Int] { state.withLock { $0.totals } }

    /// Counts the refusal; returns the line to log, or nil when the model had a line less than the
    /// interval ago (or the failure is not a refusal for load: a model nobody has, no healthy node, a
    /// hedge turned away).
    func line(for failure: PlacementFailure, model: ModelName, maxWaitSeconds: Double, now: Double) -> String? {
        guard let what = Self.describe(failure, maxWaitSeconds: maxWaitSeconds) else { return nil }
        let more = state.withLock { state -> Int? in
            state.totals[Reason(model: model, code: what.code), default: 0] += 1
            if let entry = state.lines[model], now - entry.lastLineAt < Self.intervalSeconds {
                state.lines[model]!.since += 1
                return nil
            }
            let since = state.lines[model]?.since ?? 0
            state.lines[model] = Entry(lastLineAt: now)
            return since
        }
        guard let more else { return nil }
        let tally = more > 0 ? "; \(more) more turned away since the last line for this model" : ""
        return "farm turned away a request for \(model.canonical) (\(what.text))\(tally)"
    }

    private static func describe(_ failure: PlacementFailure, maxWaitSeconds: Double) -> (code: String, text: String)? {
        let limit = Int(maxWaitSeconds.rounded())
        switch failure {
        case .overloaded(let predicted, let retryAfter, let basis):
            let shedAt = Int((maxWaitSeconds * Cluster.shedShareOfMaxWait).rounded())
            return (
                "overloaded",
                "429 overloaded, Retry-After \(retryAfter): predicted wait \(predicted) s, over the \(shedAt) s refusal point "
                    + "of the \(limit) s limit; \(basis)"
            )
        case .queueFull(let retryAfter, let basis?):
            return ("queue_full", "429 queue_full, Retry-After \(retryAfter): the model's queue is at its maximum length; \(basis)")
        case .queueTimeout:
            return ("queue_timeout", "503 queue_timeout: waited the whole \(limit) s limit in the queue")
        case .queueFull(_, nil), .modelNotFound, .noHealthyNode:
            return nil
        }
    }
}
