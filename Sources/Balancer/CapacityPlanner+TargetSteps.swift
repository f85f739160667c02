import Foundation

/// What the planner's moves ask of the target layout: whether a move is a step toward it, what copies
/// it waits for, and where a moved last copy can go.
extension CapacityPlanner.FarmLayout {
    /// Loads a copy the target places on the node, and unloads only what the target does not keep
    /// there or what fits back once the copy is loaded.
    func isStepTowardTarget(_ model: ModelName, on nodeIndex: Int, evicting victims: Victims) -> Bool {
        guard let target, target.places(model, on: nodeIndex) else { return false }
        return victims.models.allSatisfy { !target.places($0, on: nodeIndex) || victims.comingBack.contains($0) }
    }

    /// Per node, the most that a copy the target places there and the farm does not hold yet would
    /// save (`nextCopyGain`); a node that awaits a copy worth more than a load's gain takes no load
    /// the target does not place there. Worked out once per move the plan makes, not for every model
    /// and node it weighs (a tenth of a 64-node farm's plan). At 125 % load
    /// `codellama:13b` queued 40 deep on two copies while its third, planned on gpu0, waited for a
    /// young copy to age, and the planner filled gpu0 in the meantime with `mistral:7b` (a 40 s gain),
    /// which was then young in turn; the third copy came 38 s later. Any pending copy, whatever its
    /// worth, held back too much: a second copy of `gemma2:9b` that saved more than the copy the node
    /// waited for was kept out, and p95 after warm-up at 125 % was 12.7 s twice in three runs.
    func awaitedTargetCopyGains() -> [Int: Double] {
        guard let target else { return [:] }
        var gains: [Int: Double] = [:]
        for (nodeIndex, placed) in target.models {
            for model in placed where !hosts(model, on: nodeIndex) {
                let worth = max(nextCopyGain(model), worthOfRoomLeft(model, movingTo: nodeIndex, waitingHeadsOnly: true))
                gains[nodeIndex] = max(gains[nodeIndex] ?? -.infinity, worth)
            }
        }
        return gains
    }

    /// In a step toward the target, a model's last copy that the target keeps on another node is
    /// moving, not lost: its requests wait while this load and its own load there run. Counted as
    /// lost (five times its cost), it kept a large hot model on two copies for a whole run, where
    /// the target's way in unloaded a small model's only copy the target had placed elsewhere.
    ///
    /// Only if that load can follow (`canFollow`), though: a move that takes a young copy, or a last
    /// copy with nowhere to go, needs several times its cost. At 125 % load a step unloaded
    /// llama3.1's only copy as moving to a node where it fitted only in place of mistral's only copy;
    /// that move never cleared its multiple, and llama3.1 had no copy for 23 s with 30 requests queued.
    func priceMovesToTarget(_ victims: inout Victims, making model: ModelName, on node: NodeSnapshot) {
        guard let target else { return }
        for victim in victims.lastCopies where canFollow(victim, to: target, from: node.index) {
            let away = waitWhileAway(
                victim, for: costModel.predictedLoadSeconds(model, on: node) + costModel.predictedLoadSeconds(victim, on: node))
            let before = victims.costs[victim] ?? 0
            if away < before {
                victims.costs[victim] = away
                victims.cost -= before - away
            }
            victims.lastCopies.remove(victim)
            victims.following.insert(victim)
        }
        victims.takesLastWantedCopy = !victims.lastCopies.isEmpty
    }

    /// Whether `victim`, unloaded from node `leaving`, can load again where the target keeps it: a node
    /// other than `leaving` that holds or loads it already, or takes it in free room or in place of copies
    /// that are neither young nor a model's last, unless that last copy can follow in turn (a chain, at
    /// most `followDepth` moves long, that ends in free room or spare copies).
    func canFollow(_ victim: ModelName, to target: CapacityPlanner.TargetLayout, from leaving: Int, depth: Int = 0) -> Bool {
        healthy.contains { node in
            guard node.index != leaving, target.places(victim, on: node.index) else { return false }
            if hosts(victim, on: node.index) { return true }
            guard let room = victims(for: victim, on: node, keeping: target.models[node.index]), !room.takesYoungCopy else { return false }
            return room.lastCopies.isEmpty
                || (depth < Self.followDepth
                    && room.lastCopies.allSatisfy { canFollow($0, to: target, from: node.index, depth: depth + 1) })
        }
    }

    /// How many moves a chain of last copies may take to reach free room (see `canFollow`).
    static let followDepth = 3
}
