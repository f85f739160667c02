import Foundation

extension CapacityPlanner.FarmLayout {
    /// Why each copy the target places but the farm does not hold was not loaded this round, one
    /// entry per copy: the node is busy loading, what may go does not make room, or the move does not
    /// save enough for what it unloads. What `--log-level debug` prints after the target, so an
    /// operator (or a benchmark's log) can see what holds the farm back from the layout it heads for.
    func stepsHeldBack() -> [String] {
        guard let target else { return [] }
        var reasons: [String] = []
        for node in healthy {
            for model in (target.models[node.index] ?? []).sorted() where !hosts(model, on: node.index) {
                reasons.append("\(model) onto \(node.name): \(whyNotLoaded(model, on: node))")
            }
        }
        return reasons
    }

    /// What a move the planner makes was weighed on, in the words of `stepsHeldBack`: read before
    /// the move is applied. A move that unloads nothing, or that moves a model aside (a relocation,
    /// `makingRoom`: the model it makes room for, where, and the chain's net score), is said to be so.
    /// Appraised as a copy of its own, a relocation read "gain 3.7 s, unloading [llama3.2:3b 4.5]
    /// costs 4.5 s, needs 2.0x": a move that the log said could not pay for itself.
    func whyMade(_ move: CapacityPlanner.Move, makingRoom: (model: ModelName, nodeIndex: Int, score: Double)? = nil) -> String {
        guard let node = healthy.first(where: { $0.index == move.nodeIndex }) else { return "\(move.model) onto an unknown node" }
        let head = "\(move.model) onto \(node.name): "
        if let makingRoom, let room = healthy.first(where: { $0.index == makingRoom.nodeIndex }) {
            let unloading = move.evicting.isEmpty ? "free room" : "unloading \(move.evicting.map(\.description).joined(separator: ","))"
            return head + "\(unloading), a relocation: moves its copy off \(room.name) to make room for \(makingRoom.model) there "
                + "(net \(String(format: "%.1f", makingRoom.score)) s after both halves' costs and the extra load)"
        }
        if move.evicting.isEmpty { return head + "free room" }
        let options = [victims(for: move.model, on: node), victims(for: move.model, on: node, keeping: target?.models[node.index] ?? [])]
        guard let victims = options.compactMap({ $0 }).first(where: { Set($0.models) == Set(move.evicting) }) else {
            return head + "unloading \(move.evicting.map(\.description).joined(separator: ",")) (a relocation)"
        }
        return head + appraisal(move.model, on: node, evicting: victims)
    }

    private func whyNotLoaded(_ model: ModelName, on node: NodeSnapshot) -> String {
        if taken.contains(node.index) { return "node busy loading" }
        let keep = target?.models[node.index] ?? []
        guard let victims = victims(for: model, on: node, keeping: keep) else {
            let here = residents(node.index).sorted().map(\.description).joined(separator: ",")
            return "no room beside what may not go now of \(here) (loading, queued for, a young only copy, or loading elsewhere)"
        }
        return appraisal(model, on: node, evicting: victims)
    }

    /// The gain of one more copy of `model`, what unloading `victims` costs, and the multiple it needs.
    private func appraisal(_ model: ModelName, on node: NodeSnapshot, evicting victims: Victims) -> String {
        let appraisal = appraise(model, gain: nextCopyGain(model), on: node, evicting: victims)
        let priced = appraisal.victims
        func seconds(_ value: Double) -> String { String(format: "%.1f", value) }
        let unloading = priced.models.map { "\($0) \(seconds(priced.costs[$0] ?? 0))" }.joined(separator: ",")
        let waits =
            waitsToMakeBeforeBreaking(model, appraisal: appraisal)
            ? ", waits for \(priced.following.sorted().map(\.description).joined(separator: ",")) to load where the target keeps it" : ""
        let forHead = appraisal.headWorth > 0 ? " (+\(seconds(appraisal.headWorth)) s for the copy waiting for its room)" : ""
        return "gain \(seconds(appraisal.gain)) s\(forHead), unloading [\(unloading)] costs \(seconds(priced.cost)) s, "
            + "needs \(seconds(appraisal.gainOverCostNeeded))x" + (appraisal.isStep ? "" : " (not a step)") + waits
    }
}
