import Foundation

/// Copies the target layout leaves out only because the copies the farm holds count for more than
/// copies it lacks (`TargetLayout.heldCopyAdvantage`), carried from one planner round to the next
/// with what each has saved against the held copy it would displace since it was first seen.
///
/// The advantage keeps the target from swapping places on the rates' noise, but it also keeps a
/// layout that a cold start's first minute chose long after the rates have settled elsewhere. On a
/// 75 % trace (seed 11) the hot model's fourth copy saved 1.2 times what `gemma2:2b`'s second did on
/// average (0.9-1.6 round by round: near saturation a copy's worth moves as the rate to the power
/// 2.5) for three minutes, and never got in: p95 after warm-up 2.2x the all-warm bound, where the
/// best fixed layout in hindsight (that fourth copy in place of `gemma2:2b`'s second) leaves 4.5 % of
/// the requests waiting against 7.1 %. Noise evens out over rounds; a copy that has saved
/// `Settings.challengerMargin` times what the held one does, summed over at least
/// `Settings.challengerDwellSeconds` of rounds (older rounds fading over as long), counts as held
/// too, and the two compete on what they save.
public struct TargetChallengers: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        /// Which copy of the model (its count, 2 for a second copy).
        var copy: Int
        /// When the copy was first seen out-valuing a held one (the planner's clock).
        var since: Double
        /// What the copy would have saved, summed over the rounds since, each weighed down by its age.
        var worth: Double
        /// What the least valuable held spare copy it would displace saves, summed the same way.
        var displacedWorth: Double
        /// The last round added to the sums.
        var updated: Double

        /// The sums with one more round's worth added, older rounds fading with a time constant of
        /// `fading` seconds: evidence from before a popularity shift must not keep a copy counted as
        /// held after its model has cooled.
        mutating func add(worth: Double, displacing displaced: Double, at now: Double, fading: Double) {
            let kept = exp(-max(0, now - updated) / fading)
            self.worth = self.worth * kept + worth
            displacedWorth = displacedWorth * kept + displaced
            updated = now
        }
    }

    var entries: [ModelName: Entry] = [:]

    public init() {}

    /// Each challenging model's copy count, for logs and tests.
    public var copies: [ModelName: Int] { entries.mapValues(\.copy) }

    /// Whether `model`'s copy number `copy` has challenged long enough, by enough, to count as held.
    func countsAsHeld(_ model: ModelName, copy: Int, now: Double, settings: CapacityPlanner.Settings) -> Bool {
        guard let entry = entries[model], copy <= entry.copy else { return false }
        return now - entry.since >= settings.challengerDwellSeconds && entry.worth >= settings.challengerMargin * entry.displacedWorth
    }
}
