import Foundation

extension CapacityPlanner.FarmLayout {
    /// The first half of a coordinated move: when `model` fits on `node` only by unloading the
    /// last copy of another model still asked for, load that model on a second node first (in
    /// free room or in place of copies it can spare). Next round the other model has a copy to
    /// spare on `node`, and the plain move there costs little. Without this, a farm packed with
    /// one copy of everything could not make room for a model that turned hot: every way in
    /// unloaded something whose only copy was still wanted.
    func relocation(makingRoomFor model: ModelName, gain: Double, on node: NodeSnapshot) -> (move: CapacityPlanner.Move, score: Double)? {
        var best: (move: CapacityPlanner.Move, score: Double)?
        // A young copy may move too: the copy elsewhere loads first, so the next turn of its
        // conversation finds it warm. Held for the minimum residency, the first minute's copies of
        // small models kept a large hot model on two copies until 70 s after a cold start.
        for moving in residents(node.index).sorted()
        where isLastWantedCopy(moving, warm: warmCopies) && isIdle(moving, on: node) {
            var copiesAfter = copies
            copiesAfter[moving, default: 0] += 1
            var warmAfter = warmCopies
            warmAfter[moving, default: 0] += 1
            guard let freed = victims(for: model, on: node, copies: copiesAfter, warm: warmAfter), freed.models.contains(moving),
                !freed.takesLastWantedCopy, freed.models.allSatisfy({ $0 == moving || (isSpare($0) && !isYoung($0, on: node)) })
            else { continue }
            for target in healthy
            where takesPlannedLoad(target) && target.index != node.index && target.hasPulled(moving) && !hosts(moving, on: target.index) {
                // Only copies the plan can spare make room: a chain that cut into a busy model's copies
                // swapped them back a round later (seven loads in 30 s after a shift).
                // Nor may both halves take a copy of the same model: together they could take its last.
                guard let made = victims(for: moving, on: target), !made.models.contains(model),
                    !made.takesYoungCopy, made.models.allSatisfy({ isSpare($0) }),
                    Set(made.models).isDisjoint(with: freed.models)
                else { continue }
                let cost = freed.cost + made.cost
                let net = gain - cost
                guard net > settings.minimumNetGainSeconds, gain >= settings.gainOverCost * cost else { continue }
                let load = costModel.predictedLoadSeconds(moving, on: target)
                // Two rounds and an extra load reach what a direct move would reach in one.
                let score = net - load - Double(made.models.count) * 0.01 - Double(target.totalInFlight) * 0.001
                if best == nil || score > best!.score {
                    best = (
                        CapacityPlanner.Move(model: moving, nodeIndex: target.index, evicting: made.models, predictedLoadSeconds: load),
                        score
                    )
                }
            }
        }
        return best
    }

    /// Whether room for `model` on the node is on its way: a model there has a copy loading on another
    /// node, and once that copy is warm, unloading this one makes room for `model` (the first half of
    /// a relocation, or a model that loads where the target keeps it before it leaves). Meanwhile a
    /// load of `model` elsewhere only fills free room: after a shift at 53 % load, `qwen2.5:7b` loaded
    /// on gpu2 to free gpu0 for `gemma2:9b`'s second copy, and the next round, with `qwen2.5:7b`'s copy
    /// on gpu0 still its only warm one, put `gemma2:9b` on gpu1 in place of one of the new hot
    /// `codellama:13b`'s three copies; once `qwen2.5:7b` was warm, `codellama:13b` took the room on
    /// gpu0. Three loads for what two give, and the hot model a copy short for them. On the node the
    /// room is made on, likewise: after a shift on seed 5, `qwen2.5:7b` loaded on gpu0 to free gpu3
    /// for `codellama:13b`, and the next round, 0.4 s later, loaded `codellama:13b` on gpu3 in place
    /// of a `phi3:mini` copy the target kept there; `phi3:mini` lost its other copy to a step that
    /// counted on that one, and its requests cold-loaded it in place of `mistral:7b`'s only copy,
    /// whose requests cold-loaded it in turn (`mistral:7b` p95 14 s that minute).
    /// Only a model with more copies than the target keeps is leaving: one that is gaining a copy the
    /// target wants is not (counted, every node holding a model the round has just given a copy would
    /// read as making room, and hold back other models' loads off the target for nothing).
    func isMakingRoom(for model: ModelName, on nodeIndex: Int) -> Bool {
        let node = node(nodeIndex)
        let leaving = leavingModels(on: node)
        guard !leaving.isEmpty else { return false }
        var warmOnceLoaded = warmCopies
        for model in leaving { warmOnceLoaded[model] = copies[model] }
        guard let freed = victims(for: model, on: node, copies: copies, warm: warmOnceLoaded) else { return false }
        return freed.models.contains(where: leaving.contains)
    }

    /// The models on the node that are leaving it (see `isMakingRoom`): more copies than the target
    /// keeps, one loading on another node.
    func leavingModels(on node: NodeSnapshot) -> Set<ModelName> {
        guard let target else { return [] }
        return residents(node.index).filter {
            let count = copies[$0] ?? 0
            return count > (warmCopies[$0] ?? 0) && target.copies(of: $0) < count && !node.isLoading($0)
        }
    }

    /// The nodes some model is leaving: the only ones `isMakingRoom` can hold for. Worked out once per
    /// move the plan makes rather than for every model and node it weighs: checked for each of those,
    /// a plan for 64 nodes and 100 models took 0.148-0.154 s against 0.115-0.118 s.
    func nodesBeingLeft() -> Set<Int> {
        Set(healthy.filter { !leavingModels(on: $0).isEmpty }.map(\.index))
    }
}
