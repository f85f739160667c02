import Synchronization

/// What every answered request cost, by gateway key, model and node: requests by status, tokens,
/// errors, and histograms of time to first token and total latency. Kept in memory for `/status`
/// and `/metrics`; the usage log (if configured) is the durable record.
final class UsageLedger: Sendable {
    struct Key: Hashable, Comparable {
        var apiKey: String
        var model: String
        var node: String
        static func < (a: Key, b: Key) -> Bool { (a.apiKey, a.model, a.node) < (b.apiKey, b.model, b.node) }
    }

    struct Totals {
        var requests = 0
        var errors = 0
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var byStatus: [Int: Int] = [:]
    }

    /// One finished request, as the ledger and the usage log see it.
    struct Entry: Sendable {
        var at: Double
        var apiKey: String
        var model: String
        var node: String
        var status: Int
        var stream: Bool
        var firstTokenSeconds: Double?
        var durationSeconds: Double
        var promptTokens: Int64
        var completionTokens: Int64
    }

    /// Upper bounds (seconds) of the latency histograms: from a warm proxied answer to a slow cold load.
    static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

    struct Histogram {
        var counts = [Int](repeating: 0, count: UsageLedger.bucketBounds.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ seconds: Double) {
            if let bucket = UsageLedger.bucketBounds.firstIndex(where: { seconds <= $0 }) { counts[bucket] += 1 }
            count += 1
            sum += seconds
        }
    }

    struct ModelNode: Hashable, Comparable {
        var model: String
        var node: String
        static func < (a: ModelNode, b: ModelNode) -> Bool { (a.model, a.node) < (b.model, b.node) }
    }

    struct State {
        /// The model names the totals and histograms are kept under (see `label(for:)`).
        var modelLabels: Set<String> = []
        var totals: [Key: Totals] = [:]
        var firstToken: [ModelNode: Histogram] = [:]
        var duration: [ModelNode: Histogram] = [:]
        /// The last `recentCapacity` requests as a ring: `recentNext` is where the next one goes.
        var ring: [Entry] = []
        var recentNext = 0

        /// Oldest first.
        var recent: [Entry] { ring.count < UsageLedger.recentCapacity ? ring : Array(ring[recentNext...] + ring[..<recentNext]) }
    }

    static let recentCapacity = 100
    /// How many model names the totals and histograms keep apart. Clients choose the names they
    /// send: one sending a new name in every request grew the ledger, `/status` and `/metrics` by an
    /// entry a request (308 MB after 343,000 requests). Names a model could not be found for are
    /// counted as `unknownModelLabel`, and past this many names the rest as `otherModelsLabel`.
    static let modelLabelCapacity = 1000
    static let unknownModelLabel = "(unknown)"
    static let otherModelsLabel = "(other)"
    private let state = Mutex(State())

    func record(_ entry: Entry) {
        state.withLock { state in
            let model = Self.label(for: entry, in: &state.modelLabels)
            let key = Key(apiKey: entry.apiKey, model: model, node: entry.node)
            var totals = state.totals[key, default: Totals()]
            totals.requests += 1
            if entry.status >= 400 { totals.errors += 1 }
            totals.promptTokens += entry.promptTokens
            totals.completionTokens += entry.completionTokens
            totals.byStatus[entry.status, default: 0] += 1
            state.totals[key] = totals
            let pair = ModelNode(model: model, node: entry.node)
            if let ttft = entry.firstTokenSeconds { state.firstToken[pair, default: Histogram()].observe(ttft) }
            state.duration[pair, default: Histogram()].observe(entry.durationSeconds)
            // A ring, so a full buffer costs one store per request instead of shifting a hundred entries.
            if state.ring.count < Self.recentCapacity {
                state.ring.append(entry)
            } else {
                state.ring[state.recentNext] = entry
            }
            state.recentNext = (state.recentNext + 1) % Self.recentCapacity
        }
    }

    var snapshot: State { state.withLock { $0 } }

    /// The name a request is counted under: its model's, unless no model was found for it (404), or
    /// the ledger already keeps `modelLabelCapacity` other names.
    private static func label(for entry: Entry, in labels: inout Set<String>) -> String {
        if entry.status == 404 { return unknownModelLabel }
        if labels.contains(entry.model) { return entry.model }
        guard labels.count < modelLabelCapacity else { return otherModelsLabel }
        labels.insert(entry.model)
        return entry.model
    }
}
