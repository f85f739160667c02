import Foundation

/// A farm whose slots are mostly busy: moving a copy there only moves the waiting, so the planner
/// keeps every model's last copy (`Settings.busyFarmShareOfSlots`).
extension CapacityPlanner {
    /// Whether the demand offers at least `Settings.busyFarmShareOfSlots` of the slots of every copy
    /// on the healthy nodes, loaded or loading (`FarmLayout.slotsMostlyBusy`): shown with the
    /// planner's view of the demand, since it changes what the planner may unload.
    public static func slotsMostlyBusy(nodes: [NodeSnapshot], demand: [ModelName: Demand], settings: Settings = Settings()) -> Bool {
        var slotsOfCopies = 0
        for node in nodes where node.health == .healthy {
            let copies = Set(node.loaded.keys).union(node.loading.keys).union(node.comebacksAwaitingDrain)
            slotsOfCopies += copies.count * node.maxParallel
        }
        let offered = demand.values.reduce(0) { $0 + $1.offeredLoad }
        return slotsOfCopies > 0 && offered >= settings.busyFarmShareOfSlots * Double(slotsOfCopies)
    }
}

extension CapacityPlanner.FarmLayout {
    /// On a farm whose slots are mostly busy, a move off the target that gives `model` another copy
    /// by unloading the last copy of a model the target keeps. The victim's slots were busy too, so
    /// the move trades its whole demand for part of another model's, and the next rounds' steps load
    /// it back somewhere in place of another model. Priced instead, at five times its cost, it was
    /// made whenever the gain was a saturated model's: on GPUs their runners share, at 100 % load,
    /// `llama3.2:3b`'s fourth copy read 9,011 s, unloaded `mistral:7b`'s only copy (181 s), and
    /// every `mistral:7b` request was refused for about 50 s while it found no way back. A step may
    /// (it moves such a copy where the target keeps it), and so may a model's first copy (one
    /// model or the other goes without); on a farm with idle slots, a hot model saturated on one
    /// copy may still take a rare model's.
    func takesLastCopyTheTargetKeeps(for model: ModelName, _ appraisal: Appraisal) -> Bool {
        guard slotsMostlyBusy, let target, !appraisal.isStep, (copies[model] ?? 0) >= 1 else { return false }
        return appraisal.victims.lastCopies.contains { target.copies(of: $0) >= 1 }
    }
}
