import Foundation

extension CapacityPlanner.FarmLayout {
    /// Whether a step that would unload a model's only warm copy, priced as moving to where the target
    /// keeps it, waits until that copy is warm there. Made at once, a chain of steps leaves each model
    /// it moves with no copy at all while its new one loads: after a shift on seed 1, one round loaded
    /// `qwen2.5:7b`'s second copy in place of `mistral:7b`'s only copy and `mistral:7b` in place of
    /// `gemma2:2b`'s, and requests for those two waited 5 s at p95 that minute. Waiting, a chain with a
    /// free end is made from that end one link a round: each model loads where the target keeps it
    /// before its old copy goes (once it has a copy loading, no step may unload its last warm one,
    /// `victims`).
    ///
    /// The wait costs the head its gain for as long as the moving models take to load; the step waits
    /// only while that is less than what their absence would cost. A model with no warm copy of its own
    /// never waits: its requests are waiting for a load already. And a round that finds nothing else to
    /// do, with no load running, does not wait at all (`CapacityPlanner.planWithTarget`): a chain that
    /// comes back round to its head's node (as that one on seed 1 did, a full farm making room) has no
    /// free end, and breaking every link at once keeps each model's absence to one load.
    func waitsToMakeBeforeBreaking(_ model: ModelName, appraisal: Appraisal) -> Bool {
        guard !breaksBeforeMaking, appraisal.isStep, !appraisal.victims.following.isEmpty, (warmCopies[model] ?? 0) > 0 else {
            return false
        }
        let moving = appraisal.victims.following
        let awayCost = moving.reduce(0) { $0 + (appraisal.victims.costs[$1] ?? 0) }
        let delay = moving.map { loadSeconds($0) }.max() ?? 0
        return awayCost > appraisal.gain * delay / settings.horizonSeconds
    }

    /// Whether this round held back a step only to make before breaking (`waitsToMakeBeforeBreaking`):
    /// a copy the target places on a node free to load that a round breaking first would make.
    func heldBackToMakeBeforeBreaking() -> Bool {
        guard let target, !breaksBeforeMaking else { return false }
        var breaking = self
        breaking.breaksBeforeMaking = true
        for node in healthy where takesPlannedLoad(node) {
            for model in (target.models[node.index] ?? []).sorted() where !hosts(model, on: node.index) {
                let gain = nextCopyGain(model)
                guard gain > 0, directMove(model, gain: gain, on: node, mayEvict: true) == nil else { continue }
                if breaking.directMove(model, gain: gain, on: node, mayEvict: true) != nil { return true }
            }
        }
        return false
    }
}
