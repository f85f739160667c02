import Synchronization

/// Browser requests refused for their page's origin, told to the operator: a web app whose origin
/// is missing from `allowedOrigins` sees only a network error in its console, so the log names the
/// origin and the fix. At most one line every `intervalSeconds`, however many pages try (any page
/// on the internet can send a browser here), with how many were refused since the last line.
final class OriginRefusalLog: Sendable {
    static let intervalSeconds = 10.0
    /// Longer origins are cut in the line: the header may hold up to the head's limit.
    static let originCharactersShown = 120

    private struct State {
        var lastLineAt: Double?
        var since = 0
        var total = 0
    }

    private let state = Mutex(State())

    /// Browser requests refused so far.
    var total: Int { state.withLock { $0.total } }

    /// Counts the refusal; returns the line to log, or nil when one went out less than the interval ago.
    func line(origin: String, now: Double) -> String? {
        let earlier = state.withLock { state -> Int? in
            state.total += 1
            if let last = state.lastLineAt, now - last < Self.intervalSeconds {
                state.since += 1
                return nil
            }
            defer {
                state.lastLineAt = now
                state.since = 0
            }
            return state.since
        }
        guard let earlier else { return nil }
        let shown = origin.count > Self.originCharactersShown ? origin.prefix(Self.originCharactersShown) + "…" : origin[...]
        let more = earlier > 0 ? " (and \(earlier) more since the last such line)" : ""
        return
            "refused a browser request from the page at origin \(shown)\(more): list it in allowedOrigins in cluster.json if it should reach the farm"
    }
}
