/// A single load weighed on the layout the round has planned so far: its victims, and whether it is
/// worth making.
extension CapacityPlanner.FarmLayout {
    /// Loading `model` on `node`, after unloading the idle models whose loss costs least, when
    /// that saves clearly more waiting than it causes; with the move's score among the others.
    /// A move that unloads something is weighed on `cautiousGain` (see `Demand.cautiousRate`).
    func directMove(_ model: ModelName, gain: Double, on node: NodeSnapshot, mayEvict: Bool) -> (move: CapacityPlanner.Move, score: Double)?
    {
        // The cheapest victims, and where the target puts the model here, the victims it does not
        // keep here: the cheapest set can take a copy the target keeps (gemma2:9b's second beside
        // the hot model's third) where the target's way in unloads a small model it moves elsewhere.
        var options = [victims(for: model, on: node)].compactMap { $0 }
        if let keep = target?.models[node.index], keep.contains(model),
            let toward = victims(for: model, on: node, keeping: keep), !options.contains(where: { $0.models == toward.models })
        {
            options.append(toward)
        }
        var best: (move: CapacityPlanner.Move, score: Double)?
        for option in options {
            guard let made = directMove(model, gain: gain, on: node, mayEvict: mayEvict, evicting: option) else { continue }
            if best == nil || made.score > best!.score { best = made }
        }
        return best
    }

    /// `directMove` with the victims given.
    fileprivate func directMove(_ model: ModelName, gain: Double, on node: NodeSnapshot, mayEvict: Bool, evicting victims: Victims) -> (
        move: CapacityPlanner.Move, score: Double
    )? {
        let appraisal = appraise(model, gain: gain, on: node, evicting: victims)
        if takesLastCopyTheTargetKeeps(for: model, appraisal) { return nil }
        let victims = appraisal.victims
        let net = appraisal.gain - victims.cost
        if !victims.models.isEmpty {
            let credited = appraisal.gain + appraisal.headWorth
            guard mayEvict, credited - victims.cost > appraisal.minimumNetGain, credited >= appraisal.gainOverCostNeeded * victims.cost
            else {
                return nil
            }
            if waitsToMakeBeforeBreaking(model, appraisal: appraisal) { return nil }
        }
        // Among equals, an old copy goes before a young one, then the node that keeps the most free
        // room (fewest evictions), then the least used.
        let score =
            net - (victims.takesYoungCopy ? 0.1 : 0) - Double(victims.models.count) * 0.01 - Double(node.totalInFlight) * 0.001
        // The dearest comes back first: each one's absence runs on until its own load is done.
        let comingBack = victims.models.filter(victims.comingBack.contains).sorted { a, b in
            let costA = victims.costs[a] ?? 0
            let costB = victims.costs[b] ?? 0
            return costA != costB ? costA > costB : a < b
        }
        let move = CapacityPlanner.Move(
            model: model, nodeIndex: node.index, evicting: victims.models,
            predictedLoadSeconds: costModel.predictedLoadSeconds(model, on: node), comingBack: comingBack)
        return (move, score)
    }

    /// A move weighed: its victims priced (in a step toward the target, a last copy the target
    /// keeps elsewhere as moving), the gain it is weighed on, and what it must clear.
    struct Appraisal {
        var victims: Victims
        var isStep: Bool
        /// The copy's gain, at the cautious rate when the move unloads something.
        var gain: Double
        /// What the room the move leaves is worth to the head of a chain waiting for it: counted toward
        /// the move's gain against its cost, not toward its score, so a move worth making on its own
        /// (or a relocation, whose score nets out the head's costs) still ranks first.
        var headWorth: Double
        /// How many times its victims' cost the gain must be.
        var gainOverCostNeeded: Double
        /// How much the gain must exceed the cost by.
        var minimumNetGain: Double
    }

    /// What `directMove` decides on, and the planner's `holds back` line reports.
    func appraise(_ model: ModelName, gain: Double, on node: NodeSnapshot, evicting victims: Victims) -> Appraisal {
        var victims = victims
        let isStep = isStepTowardTarget(model, on: node.index, evicting: victims)
        if isStep { priceMovesToTarget(&victims, making: model, on: node) }
        let weighed =
            (victims.models.isEmpty ? gain : min(gain, cautiousNextCopyGain(model)))
            * copyGainScale(model, onNode: node.index)
        // Unloading the only copy of a model still asked for starts a chain of reloads: only for a
        // gain several times larger (a new hot model, say). Undoing a recent load likewise: the
        // first minute's copies follow the first requests, not demand, and must give way to a hot
        // model queueing on one copy, but not to noise. A step toward the target layout needs only
        // to save more than it costs: the target packs the same way every round, so the move back
        // would be a step away from it.
        var multiple = isStep ? settings.targetStepGainOverCost : settings.gainOverCost
        if victims.takesLastWantedCopy {
            multiple = max(multiple, isUncovered(model) ? settings.uncoveredGainOverCost : settings.lastCopyGainOverCost)
        }
        if victims.takesYoungCopy { multiple = max(multiple, settings.youngCopyGainOverCost) }
        // A step needs no minimum gain: it unloads nothing the target keeps here, so steps only
        // ever bring the farm closer to the target and cannot swap back and forth. A step that moves
        // a copy (`leavesRoomWorthHaving`) and unloads only spare copies (together worth less than the
        // minimum gain, none a last or young copy) needs only to gain something: it is the free end of
        // a chain, worth little itself while the copy behind it waits for the room it leaves. On a
        // large-first cold start, qwen2.5's third copy (2 s) in place of phi3's spare (3 s) was never
        // loaded, and gemma2:9b, which needed qwen2.5's old place, sat on one copy from 30 s to 108 s.
        let unloadsOnlySpares =
            isStep && !victims.takesLastWantedCopy && !victims.takesYoungCopy && victims.cost < settings.minimumNetGainSeconds
            && leavesRoomWorthHaving(model, movingTo: node.index)
        if unloadsOnlySpares { multiple = 0 }
        // The free end of a chain whose head waits for the room it leaves (`waitsToMakeBeforeBreaking`:
        // the model's only warm copy is where the head goes) is worth what the head saves as well.
        // Weighed on its own copy, llama3.1's move (5.6 s) in place of llama3.2's second copy (22.6 s)
        // after a shift at 75 % was never made, and codellama's third copy (45 s), waiting for llama3.1
        // to leave its node, stood still for 55 s. Only the free end: a link that moves a copy itself
        // waits for that one in turn, and a move onto a node the chain must still empty (a chain that
        // comes back round to its head's node) is no end at all.
        let carriesHead =
            isStep && !victims.models.isEmpty && victims.following.isEmpty && !victims.takesLastWantedCopy
            && !victims.takesYoungCopy && warmCopies[model] == 1
            && residents(node.index).subtracting(target?.models[node.index] ?? []).isSubset(of: victims.models)
        return Appraisal(
            victims: victims, isStep: isStep, gain: weighed,
            headWorth: carriesHead ? worthOfRoomLeft(model, movingTo: node.index, waitingHeadsOnly: true) : 0,
            gainOverCostNeeded: multiple,
            minimumNetGain: unloadsOnlySpares ? -settings.minimumNetGainSeconds : isStep ? 0 : settings.minimumNetGainSeconds)
    }
}
