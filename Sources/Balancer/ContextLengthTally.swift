/// The context lengths (`options.num_ctx`) each model's recent requests asked, so that a copy loaded
/// ahead of requests is loaded for the length most of them ask (`RunnerContexts`): loaded for another,
/// placement would leave it out for those requests, or their first would make Ollama reload it.
/// The length that serves most of the last `window` requests wins (ties: the latest); with clients
/// split 70/30 between two lengths, the last request alone would pick the minority's a third of the
/// time. A runner for a length at least the automatic one serves the requests that set none as well
/// (`RunnerContexts.ridingLength`), so with the automatic length known, 30 % asking 8192 beside 70 %
/// asking none load for 8192: one runner serves them all.
struct ContextLengthTally: Sendable {
    static let window = 32

    private struct Recent {
        var asks: [Int?] = []
        var next = 0

        mutating func record(_ contextLength: Int?) {
            if asks.count < ContextLengthTally.window {
                asks.append(contextLength)
            } else {
                asks[next] = contextLength
            }
            next = (next + 1) % ContextLengthTally.window
        }
    }

    private var recent: [ModelName: Recent] = [:]

    /// Counts one request's length. Every request comes through here: the entry is changed in place,
    /// so a full window costs no copy of its array.
    mutating func record(_ model: ModelName, contextLength: Int?) {
        recent[model, default: Recent()].record(contextLength)
    }

    /// Starts from the length an earlier run's requests asked (`Cluster.seedContextLengths`): it
    /// counts as one request, so the first requests of this run outvote it.
    mutating func seed(_ model: ModelName, contextLength: Int) {
        guard recent[model] == nil else { return }
        record(model, contextLength: contextLength)
    }

    /// The longest length the model's recent requests asked (nil: none set one).
    func longestAsked(_ model: ModelName) -> Int? {
        recent[model]?.asks.lazy.compactMap { $0 }.max()
    }

    /// Every model whose recent requests are best served by a length they set (`usual`), given each
    /// model's automatic length where known.
    func usualLengths(automatic: [ModelName: Int] = [:], atLeast: Bool = false) -> [ModelName: Int] {
        var lengths: [ModelName: Int] = [:]
        for model in recent.keys {
            if let length = usual(model, automatic: automatic[model], atLeast: atLeast) { lengths[model] = length }
        }
        return lengths
    }

    /// The length that serves most of the model's recent requests (nil: none set, or no request yet),
    /// where a length at least `automatic` (the automatic length, when known) also serves those that
    /// set none, and with `atLeast` (`ClusterConfig.NumCtxPolicy`) the shorter explicit asks too.
    func usual(_ model: ModelName, automatic: Int? = nil, atLeast: Bool = false) -> Int? {
        guard let entry = recent[model], !entry.asks.isEmpty else { return nil }
        var counts: [Int?: Int] = [:]
        var latest: [Int?: Int] = [:]
        // Oldest to newest, so that a tie goes to the latest.
        let count = entry.asks.count
        let start = count < Self.window ? 0 : entry.next
        for offset in 0..<count {
            let ask = entry.asks[(start + offset) % count]
            counts[ask, default: 0] += 1
            latest[ask] = offset
        }
        let unset = counts[nil] ?? 0
        var best: (ask: Int?, served: Int, latest: Int) = (nil, -1, -1)
        for (ask, asked) in counts {
            var served = asked
            if let length = ask, let automatic, length >= automatic { served += unset }
            if atLeast, let length = ask ?? automatic {
                for (other, count) in counts where other != ask { if let other, other <= length { served += count } }
            }
            let last = latest[ask] ?? -1
            if served > best.served || (served == best.served && last > best.latest) { best = (ask, served, last) }
        }
        return best.ask
    }
}
