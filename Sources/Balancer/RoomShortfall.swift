/// When to tell the operator that the farm has no place for copies its demand calls for.
///
/// On such a farm no placement helps: a hot model stays on too few copies (or a rare one on none)
/// and its requests wait for slots. With nodes capped at two models each and eight models asked
/// for, the placement benchmark's hot model ran on one copy at half the farm's capacity, p95 4 s
/// against an all-warm bound of 0.26 s, and nothing in the log said why. More nodes, or a higher
/// loaded-model cap where the VRAM allows, is the fix. Said once the shortfall has held for
/// `roundsBeforeSaying` planner rounds in a row (a cold start's first rates are noise), then at
/// most every `quietSeconds`, and the same models again only after `repeatSeconds`.
public struct RoomShortfall: Sendable {
    /// Planner rounds in a row with copies left out before the first line.
    public static let roundsBeforeSaying = 10
    /// At most one line this often, whatever changes...
    public static let quietSeconds = 300.0
    /// ...and a line about the same models again only after this long.
    public static let repeatSeconds = 1800.0

    private var roundsShort = 0
    private var lastSaid: (models: Set<ModelName>, at: Double)?

    public init() {}

    /// Notes one planner round's `leftOut` copies (`TargetLayout.leftOutForRoom`, positive counts
    /// only); true when a line is due now.
    public mutating func isDue(leftOut: [ModelName: Int], now: Double) -> Bool {
        let models = Set(leftOut.keys)
        guard !models.isEmpty else {
            roundsShort = 0
            return false
        }
        roundsShort += 1
        guard roundsShort >= Self.roundsBeforeSaying else { return false }
        if let lastSaid {
            let since = now - lastSaid.at
            guard since >= Self.quietSeconds, lastSaid.models != models || since >= Self.repeatSeconds else { return false }
        }
        lastSaid = (models, now)
        return true
    }

    /// The operator's line: each short model with the copies the target gives it and the copies it
    /// needs, and how many models the healthy nodes hold at once.
    public static func describe(leftOut: [ModelName: Int], target: [Int: Set<ModelName>], nodes: [NodeSnapshot]) -> String {
        let parts = leftOut.keys.sorted().map { model in
            let planned = target.values.count { $0.contains(model) }
            return "\(model) gets \(planned) of the \(planned + leftOut[model]!) copies it needs"
        }
        let healthy = nodes.filter { $0.health == .healthy }
        let places = healthy.reduce(0) { $0 + $1.maxLoadedModels }
        let nodesText = healthy.count == 1 ? "the healthy node holds" : "the \(healthy.count) healthy nodes hold"
        return "no place on the farm for every copy its demand calls for: \(parts.joined(separator: ", ")) "
            + "(\(nodesText) at most \(places) models at once, fewer where the VRAM is full); "
            + "their requests wait for slots however they are placed. Add nodes, or raise OLLAMA_MAX_LOADED_MODELS "
            + "(and maxLoadedModels in cluster.json) where the VRAM allows"
    }
}
