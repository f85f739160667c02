/// Victims are gathered cheapest first until a load fits, so a later, larger victim can make some
/// earlier ones unnecessary: under Ollama's 80 % rule, unloading one big idle model may be enough
/// where the small one taken before it did not help. A model unloaded for nothing costs its next
/// request a cold load.
enum VictimPruning {
    /// The victims the load still fits beside, tried dearest first (`victims` in that order).
    /// `count` and `used` describe the node with every victim unloaded; `fits` is the node's test.
    static func unneeded(
        _ victims: [ModelName], count: Int, used: Int64, bytes: (ModelName) -> Int64, fits: (_ count: Int, _ used: Int64) -> Bool
    ) -> Set<ModelName> {
        var count = count
        var used = used
        var kept: Set<ModelName> = []
        for victim in victims where fits(count + 1, used + bytes(victim)) {
            count += 1
            used += bytes(victim)
            kept.insert(victim)
        }
        return kept
    }
}
