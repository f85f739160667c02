import Foundation

extension CapacityPlanner.FarmLayout {
    /// What unloading the last copy of `victim` costs when it is loaded back on `node` right after
    /// `model`: the requests that come meanwhile wait, on average, half of the two loads. Counted
    /// as gone for the whole horizon, such a victim kept `gemma2:9b` (1.1 requests/s) on one copy
    /// for two minutes after a shift: under Ollama's 80 % rule it fits beside `codellama:13b`
    /// only if it loads before the small model that shares the node, which then fits back.
    func comebackCost(_ victim: ModelName, after model: ModelName, on node: NodeSnapshot) -> Double {
        let ownLoad = costModel.predictedLoadSeconds(victim, on: node)
        return waitWhileAway(victim, for: costModel.predictedLoadSeconds(model, on: node) + ownLoad, countedAtMost: ownLoad)
    }

    /// The waiting of a model's requests while it has no copy for `absence` seconds: each that comes
    /// meanwhile waits until the copy is back, counted for at most `countedAtMost` seconds.
    ///
    /// A victim that comes back to its node right after the load is priced with each request
    /// counted for at most its own load there: a request that waits out the absence is one slow
    /// request to the p95, whether it waits 5 s or 15 s, as the planner's other prices count a slow
    /// request once (a noticeable wait for a slot as one more service time, an eviction as one load
    /// for the request that finds the model gone). Counted for their whole wait, the 3.6 requests
    /// `llama3.2:3b` (0.22/s) would see while away for two loads (`codellama:13b`'s 12 s, then its
    /// own 4 s) cost 29 s and outweighed `codellama:13b`'s third copy (17 s), which then waited 50 s
    /// more while 12 of the new hot model's 100 requests a minute waited for a slot (p95 0.5-0.6 s in
    /// the second and third minutes after a shift at 53 % load, four runs in five).
    /// A victim that follows to another node (`priceMovesToTarget`) keeps its whole wait: its load
    /// there waits for that node's turn, and meanwhile the request path, which does not know the
    /// plan, cold-loads it in place of other models' only copies. Capped too, such a step on a
    /// slow-node run set off three of those in a row (a 3.9 s minute).
    func waitWhileAway(_ victim: ModelName, for absence: Double, countedAtMost cap: Double = .infinity) -> Double {
        let counted = min(absence, cap)
        // Arrivals spread evenly over the absence: those in its last `counted` seconds wait, on
        // average, half of that; the earlier ones are counted `counted` each.
        return (demand[victim]?.rate ?? 0) * (counted * counted / 2 + counted * (absence - counted))
    }

    struct Victims {
        var models: [ModelName]
        var cost: Double
        var takesLastWantedCopy: Bool
        /// Some victim is younger than the minimum residency (see `isYoung`).
        var takesYoungCopy: Bool
        /// Victims that fit back beside the new model and were priced as away only meanwhile.
        var comingBack: Set<ModelName> = []
        /// Victims that are their model's last copy and do not come back here.
        var lastCopies: Set<ModelName> = []
        /// Last copies that a step toward the target prices as moving to where the target keeps them
        /// (`priceMovesToTarget`): gone from here before their copy there is warm, unless the step waits
        /// (`waitsToMakeBeforeBreaking`).
        var following: Set<ModelName> = []
        /// What each victim's unloading costs (the parts of `cost`).
        var costs: [ModelName: Double] = [:]
    }

    /// The cheapest set of models to unload on `node` so that `model` fits its VRAM and its
    /// loaded-model cap; nil when it cannot be made to fit without touching a model that is loading,
    /// queued for, or the only warm copy of its model and loaded too recently. Busy victims drain
    /// (`isDrainable`). Surplus copies and models
    /// nobody asks for go first; young copies next to last, the last copy of a model still asked
    /// for last, and callers ask more of a move that takes either.
    /// With `keeping` (the target's models for the node), the models outside it go first, the
    /// cheapest of them first, and that set is returned.
    func victims(
        for model: ModelName, on node: NodeSnapshot, copies: [ModelName: Int]? = nil, warm: [ModelName: Int]? = nil,
        keeping: Set<ModelName>? = nil
    ) -> Victims? {
        // Only the layout's own counts are remembered: `relocation` asks about counts it imagines.
        guard copies == nil, warm == nil else { return freshVictims(for: model, on: node, copies: copies, warm: warm, keeping: keeping) }
        let key = CapacityPlanner.VictimMemo.Key(model: model, keeping: keeping)
        if let known = victimMemo.known(key, on: node.index) { return known }
        let found = freshVictims(for: model, on: node, copies: nil, warm: nil, keeping: keeping)
        victimMemo.remember(found, for: key, on: node.index)
        return found
    }

    /// `victims` worked out again.
    private func freshVictims(
        for model: ModelName, on node: NodeSnapshot, copies imagined: [ModelName: Int]?, warm: [ModelName: Int]?,
        keeping: Set<ModelName>?
    ) -> Victims? {
        let copies = imagined ?? self.copies
        let warm = warm ?? warmCopies
        let here = residents(node.index)
        let size = node.runnerBytes(model)
        func bytes(_ name: ModelName) -> Int64 { node.runnerBytes(name) }
        let count = here.count
        let used = here.reduce(Int64(0)) { $0 + bytes($1) }
        let budget = node.plannableVRAM
        func fits(_ count: Int, _ used: Int64) -> Bool { count < node.maxLoadedModels && (budget?.admits(size, beside: used) ?? true) }
        if fits(count, used) { return Victims(models: [], cost: 0, takesLastWantedCopy: false, takesYoungCopy: false) }
        let candidates =
            here
            .filter { isDrainable($0, on: node) }
            .map { model in
                (
                    model: model,
                    cost: imagined.map { evictionCost(model, copies: $0) } ?? evictionCost(model, onNode: node.index),
                    last: isLastWantedCopy(model, warm: warm),
                    young: isYoung(model, on: node), only: (warm[model] ?? 0) <= 1
                )
            }
            // A young only copy stays, however rarely its model is asked for: it was loaded for a
            // request moments ago, and that conversation's next turn is likely on its way. Unless the
            // target keeps it here and it comes straight back (checked in `gather`): then it is gone
            // only for two loads. Held for the minimum residency, `llama3.2:3b`'s copy, loaded for
            // one request at 16 s, kept `codellama:13b`'s third copy out of its node until 83 s at
            // 75 % load, with the hot model queueing on two copies.
            .filter { !($0.young && $0.only) || (keeping?.contains($0.model) ?? false) }
            // So does every warm copy of a model while another of its copies loads: the farm is adding
            // copies of it, not taking them away. After a shift the planner unloaded codellama:13b's
            // only warm copy, read as a third one when two were loading; 12 requests queued, and 14 s
            // later the copy came back in place of the one it had made room for. Once busy copies could
            // drain, it took one of codellama:13b's two warm copies while its third loaded, for a step
            // of the target, and the hot model ran on one copy for 8 s.
            .filter { !((copies[$0.model] ?? 0) > (warm[$0.model] ?? 0) && demand[$0.model] != nil) }
            .sorted { a, b in
                if a.last != b.last { return !a.last }
                if a.young != b.young { return !a.young }
                return a.cost != b.cost ? a.cost < b.cost : a.model < b.model
            }
        typealias Candidate = (model: ModelName, cost: Double, last: Bool, young: Bool, only: Bool)
        /// A victim that fits back beside the new model is gone only while the loads before its own
        /// run: the move loads it back right after the new model (`Move.comingBack`). `count` and
        /// `used` describe the node with every victim unloaded.
        func priceComebacks(_ taken: inout [Candidate], count: Int, used: Int64) -> Set<ModelName> {
            var comingBack: Set<ModelName> = []
            var countAfter = count + 1
            var usedAfter = used + size
            var absence = costModel.predictedLoadSeconds(model, on: node)
            let order = taken.indices.sorted { a, b in
                taken[a].last != taken[b].last ? taken[a].last : taken[a].cost > taken[b].cost
            }
            func plannedBack(_ victim: Candidate) -> Bool {
                victim.cost >= settings.minimumNetGainSeconds && (copies[victim.model] ?? 0) <= wantedCopies(victim.model)
            }
            for index in order where taken[index].last || plannedBack(taken[index]) {
                let victim = taken[index].model
                guard countAfter < node.maxLoadedModels, budget?.admits(bytes(victim), beside: usedAfter) ?? true else { continue }
                countAfter += 1
                usedAfter += bytes(victim)
                let ownLoad = costModel.predictedLoadSeconds(victim, on: node)
                absence += ownLoad
                let away =
                    taken[index].last
                    ? waitWhileAway(victim, for: absence, countedAtMost: ownLoad) : taken[index].cost * absence / settings.horizonSeconds
                taken[index].cost = min(taken[index].cost, away)
                taken[index].last = false
                comingBack.insert(victim)
            }
            return comingBack
        }
        func cheaper(_ plain: Victims?, _ other: Victims?) -> Victims? {
            guard let other, other.models != plain?.models else { return plain }
            guard let plain else { return other }
            if plain.takesLastWantedCopy != other.takesLastWantedCopy { return plain.takesLastWantedCopy ? other : plain }
            return other.cost < plain.cost ? other : plain
        }
        /// `taken` priced, with the node left holding `count` models in `used` bytes once they are gone.
        func settle(_ taken: [Candidate], count: Int, used: Int64) -> Victims? {
            var taken = taken
            let youngOnly = Set(taken.filter { $0.young && $0.only }.map(\.model))
            let comingBack = priceComebacks(&taken, count: count, used: used)
            guard youngOnly.isSubset(of: comingBack) else { return nil }
            // A young copy that comes back is not thrashed: it is gone only while the loads run.
            return Victims(
                models: taken.map(\.model), cost: taken.reduce(0) { $0 + $1.cost }, takesLastWantedCopy: taken.contains { $0.last },
                takesYoungCopy: taken.contains { $0.young && !comingBack.contains($0.model) }, comingBack: comingBack,
                lastCopies: Set(taken.filter(\.last).map(\.model)),
                costs: Dictionary(taken.map { ($0.model, $0.cost) }, uniquingKeysWith: +))
        }
        func gather(_ order: [Candidate]) -> Victims? {
            var count = count
            var used = used
            var taken: [Candidate] = []
            for candidate in order where !fits(count, used) {
                taken.append(candidate)
                count -= 1
                used -= bytes(candidate.model)
            }
            guard fits(count, used) else { return nil }
            // Kept back if the load still fits beside them: a model's last copy first, then a young one, then the dearest.
            let keepFirst = taken.sorted { a, b in a.last != b.last ? a.last : a.young != b.young ? a.young : a.cost > b.cost }
            let unneeded = VictimPruning.unneeded(keepFirst.map(\.model), count: count, used: used, bytes: bytes, fits: fits)
            // What stays takes its place: a victim fits back only beside the models really left.
            let pruned = settle(
                taken.filter { !unneeded.contains($0.model) }, count: count + unneeded.count,
                used: used + unneeded.reduce(Int64(0)) { $0 + bytes($1) })
            guard !unneeded.isEmpty, let whole = settle(taken, count: count, used: used), !whole.comingBack.isEmpty else { return pruned }
            // A victim the load does not need can be what lets a dearer one come back: with a spare
            // `gemma2:2b` copy kept, gpu2 held three models and `qwen2.5:7b`, which fitted back beside
            // `gemma2:9b` only in its room, was priced as gone for the whole horizon (57 s, not 16 s).
            // `gemma2:9b`, the second hottest model after a shift, stayed on one copy for 100 s
            // (p95 1.5 s in its minute) while the move waited for twice that cost.
            if whole.takesYoungCopy && pruned?.takesYoungCopy == false { return pruned }
            return cheaper(pruned, whole)
        }
        func costIfComingBack(_ candidate: Candidate) -> Double {
            candidate.last ? min(candidate.cost, comebackCost(candidate.model, after: model, on: node)) : candidate.cost
        }
        if let keeping {
            func keptLast(_ a: Candidate, _ b: Candidate) -> Bool? {
                let keepA = keeping.contains(a.model)
                let keepB = keeping.contains(b.model)
                return keepA != keepB ? !keepA : nil
            }
            let plain = gather(
                candidates.sorted { a, b in
                    if let order = keptLast(a, b) { return order }
                    if a.young != b.young { return !a.young }
                    return a.cost != b.cost ? a.cost < b.cost : a.model < b.model
                })
            // The models the target keeps here ranked by what they cost if they come back, young or
            // not: a young small model that fits back costs two loads, where an old large one that
            // does not costs its model a copy.
            guard candidates.contains(where: { keeping.contains($0.model) && $0.last }) else { return plain }
            /// That order; with `lastCopiesFirst`, the kept models' last copies before the rest: those
            /// fit back beside the new model where a spare copy taken instead is gone for good.
            func comingBackOrder(lastCopiesFirst: Bool) -> [Candidate] {
                candidates.sorted { a, b in
                    if let order = keptLast(a, b) { return order }
                    if lastCopiesFirst && a.last != b.last { return a.last }
                    let costA = costIfComingBack(a)
                    let costB = costIfComingBack(b)
                    return costA != costB ? costA < costB : a.model < b.model
                }
            }
            let alternative = gather(comingBackOrder(lastCopiesFirst: false))
            let lastCopiesFirst = gather(comingBackOrder(lastCopiesFirst: true))
            // A set that keeps the target (every model it keeps here comes back) is the one asked for,
            // however it compares with one that does not: the caller weighs the cheapest set too, and
            // asks twice its cost of a move that is no step. `gemma2:9b`'s second copy, which the
            // target keeps on gpu1, cost 15.8 s and `llama3.2:3b`'s only copy, loaded back after the hot
            // model, 16.1 s: taking `gemma2:9b`'s was no step, and after a shift at 53 % load the hot
            // model's third copy waited 40 s for a gain twice that, with 13 of its 106 requests a
            // minute waiting for a slot.
            func keepsTarget(_ found: Victims) -> Bool {
                found.models.allSatisfy { !keeping.contains($0) || found.comingBack.contains($0) }
            }
            let steps = [plain, alternative, lastCopiesFirst].compactMap { $0 }.filter(keepsTarget)
            if let first = steps.first { return steps.dropFirst().reduce(first) { cheaper($0, $1) } }
            return cheaper(plain, alternative)
        }
        let plain = gather(candidates)
        // With no last copy among the candidates the second order is the first: gather once.
        guard candidates.contains(where: { $0.last }) else { return plain }
        // The same with last copies ranked by what they cost if they come back: a small one taken
        // with a spare copy can make room where the spare alone does not, and cheaper than a busy copy.
        let comingBack = candidates.sorted { a, b in
            if a.young != b.young { return !a.young }
            let costA = costIfComingBack(a)
            let costB = costIfComingBack(b)
            return costA != costB ? costA < costB : a.model < b.model
        }
        return cheaper(plain, gather(comingBack))
    }
}
