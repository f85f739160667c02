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

    /// A model with fewer recent requests than this is judged by the whole farm's (`judged`).
    static let fewAsks = 8

    private var recent: [ModelName: Recent] = [:]
    /// The last `window` requests to any model.
    private var farm = Recent()

    /// Counts one request's length. Every request comes through here: the entry is changed in place,
    /// so a full window costs no copy of its array.
    mutating func record(_ model: ModelName, contextLength: Int?) {
        recent[model, default: Recent()].record(contextLength)
        farm.record(contextLength)
    }

    /// Starts from the length an earlier run's requests asked (`Cluster.seedContextLengths`): it
    /// counts as one request of the model's, so the first requests of this run outvote it, and as
    /// none of the farm's.
    mutating func seed(_ model: ModelName, contextLength: Int) {
        guard recent[model] == nil else { return }
        recent[model, default: Recent()].record(contextLength)
    }

    /// The requests a model's next load is judged by: its own recent ones, or, while it has had
    /// fewer than `fewAsks`, the farm's. At a cold start every model's first loads are made on one
    /// or two requests each; the clients that set a length usually set it for every model they use,
    /// and a model loaded for the automatic length on its first request had to be loaded again, or
    /// twice, once the longer asks came.
    private func judged(_ model: ModelName) -> Recent? {
        let own = recent[model]
        if let own, own.asks.count >= Self.fewAsks { return own }
        return farm.asks.isEmpty ? own : farm
    }

    /// The longest length the recent requests the model is judged by asked (nil: none set one).
    func longestAsked(_ model: ModelName) -> Int? {
        judged(model)?.asks.lazy.compactMap { $0 }.max()
    }

    /// Every model whose own recent requests are best served by a length they set (`usualOfItsOwn`),
    /// given each model's automatic length where known: what the state file keeps for a restart,
    /// which seeds it as the model's own (`seed`), so the farm's guess for a model with few requests
    /// is not kept as what its clients asked.
    func usualLengths(automatic: [ModelName: Int] = [:], atLeast: Bool = false) -> [ModelName: Int] {
        var lengths: [ModelName: Int] = [:]
        for (model, entry) in recent {
            if let length = Self.usual(of: entry, automatic: automatic[model], atLeast: atLeast) { lengths[model] = length }
        }
        return lengths
    }

    /// The length that serves most of the recent requests the model is judged by (`judged`; nil:
    /// none set, or no request yet),
    /// where a length at least `automatic` (the automatic length, when known) also serves those that
    /// set none, and with `atLeast` (`ClusterConfig.NumCtxPolicy`) the shorter explicit asks too.
    func usual(_ model: ModelName, automatic: Int? = nil, atLeast: Bool = false) -> Int? {
        judged(model).flatMap { Self.usual(of: $0, automatic: automatic, atLeast: atLeast) }
    }

    /// `usual`, judged by the model's own recent requests alone (nil before it has any): what a
    /// runner it holds is reloaded for (`Cluster.runnersToLengthen`). The farm's requests are a
    /// guess for a model's first loads, which are made anyway; a reload of a warm runner is a load
    /// made only for the length. Judged by the farm's, an idle `phi3` whose six requests set no
    /// length was reloaded for the 8192 that another model's clients asked.
    func usualOfItsOwn(_ model: ModelName, automatic: Int? = nil, atLeast: Bool = false) -> Int? {
        recent[model].flatMap { Self.usual(of: $0, automatic: automatic, atLeast: atLeast) }
    }

    private static func usual(of entry: Recent, automatic: Int?, atLeast: Bool) -> Int? {
        guard !entry.asks.isEmpty else { return nil }
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
