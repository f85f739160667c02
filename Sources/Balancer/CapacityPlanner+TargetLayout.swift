import Foundation

extension CapacityPlanner {
    /// The farm the plan is heading for: every wanted copy packed at once, the most valuable first
    /// to be kept, the largest first to be placed. The planner moves one load per node at a time,
    /// and each move on its own must save twice what it costs, against noise in the rates. But a
    /// layout left by a cold start or a shift (three small models on a node, a large hot model on
    /// too few copies) is left only by a few moves that each save about as much as they cost: the
    /// large model's copy in place of a small model that fits back after it. One at a time those
    /// moves are close calls, and the farm stayed in its old layout for minutes. Weighed against a
    /// target that every round packs the same way, they are steps of one plan, and the 2x margin is
    /// not needed against noise: a move back would be a step away from the target.
    ///
    /// That holds only if the target itself is steady, and packing prefers the nodes a model is on:
    /// a step that unloaded `gemma2:9b` to load it back after `codellama:13b` moved the target's
    /// `gemma2:9b` elsewhere in the next round, and it waited 24 s on one copy for that. So a copy
    /// goes where it is now, else where the last round's target put it, else where it fits best.
    struct TargetLayout {
        /// Models the target puts on each node that takes planned loads.
        let models: [Int: Set<ModelName>]
        /// The same turned round: the nodes the target puts each model on. The plan asks of every model
        /// where the target wants it after each of its moves, and a scan of every node for each asked
        /// was about a quarter of a 64-node plan's time.
        let nodesPlacing: [ModelName: [Int]]
        /// Copies left out only for the advantage of held ones, for the next round (`TargetChallengers`).
        let challengers: TargetChallengers

        /// Whether the target keeps a copy of `model` on the node.
        func places(_ model: ModelName, on nodeIndex: Int) -> Bool { models[nodeIndex]?.contains(model) ?? false }

        /// How many nodes the target keeps a copy of `model` on.
        func copies(of model: ModelName) -> Int { nodesPlacing[model]?.count ?? 0 }

        /// Whether the target keeps a copy of `model` on some node other than `nodeIndex`.
        func placesElsewhere(_ model: ModelName, than nodeIndex: Int) -> Bool {
            nodesPlacing[model]?.contains { $0 != nodeIndex } ?? false
        }

        private static func nodesPlacing(_ models: [Int: Set<ModelName>]) -> [ModelName: [Int]] {
            var nodes: [ModelName: [Int]] = [:]
            for (nodeIndex, placed) in models {
                for model in placed { nodes[model, default: []].append(nodeIndex) }
            }
            return nodes.mapValues { $0.sorted() }
        }

        /// One copy of a model, with what it saves over the horizon (its place in the farm).
        private struct Copy {
            var model: ModelName
            /// Which copy of the model it is (2 for the second).
            var count: Int
            /// What it saves, raised by `heldCopyAdvantage` for a copy the farm holds now: what the
            /// target ranks and packs by.
            var value: Double
            /// What it saves, not raised.
            var worth: Double
            /// Raised only as a challenger (`TargetChallengers`), not as a copy the farm holds.
            var isChallenging = false
            var bytes: Int64
            /// The only copy of a model asked for at least once a horizon (see `init`).
            var isFirstOfWantedModel = false
        }

        /// How many times its worth a copy the farm holds counts for, against copies it lacks: as many
        /// times as a move that unloads a copy must save what it costs (`Settings.gainOverCost`).
        /// Steps toward the target need to save only what they cost, so the target must not change on
        /// noise: where a small-first farm's twelfth place was worth about as much to the hot model's
        /// fourth copy as to `gemma2:2b`'s second, the rates' noise swapped them twice in eight seconds,
        /// and at 1.5 three times in two minutes on rates that moved by a fifth (near a copy's
        /// saturation its worth grows as about the rate to the power 2.5). At 2.5, more than a direct
        /// move asks, moves that were not steps took places the target kept for held copies: at 125 %
        /// load 24 loads instead of 17, p95 6.4 s instead of 4.0 s.
        static func heldCopyAdvantage(_ settings: CapacityPlanner.Settings) -> Double { settings.gainOverCost }

        /// Packs the copies the demand calls for into the nodes whose VRAM the planner knows. Copies
        /// are chosen by value (a model's first copy saves every request a cold load, so rare models'
        /// first copies come before hot models' third), then placed largest first, as Ollama's 80 %
        /// rule packs best, each on a node that holds the model now if one has room, else on the node
        /// it fills most. When a copy finds no room, the layout is packed again without the least
        /// valuable copy, and the better packing is kept.
        /// Nodes whose VRAM is unknown keep what they hold.
        /// - Parameters:
        ///   - previous: the last round's target, by node index.
        ///   - challengers: the last round's `challengers`.
        init(_ layout: FarmLayout, previous: [Int: Set<ModelName>] = [:], challengers: TargetChallengers = TargetChallengers()) {
            let plannable = layout.healthy.filter { $0.plannableVRAM != nil }
            let plannableIndices = Set(plannable.map(\.index))
            var fixedCopies: [ModelName: Int] = [:]
            for node in layout.healthy where !plannableIndices.contains(node.index) {
                for model in layout.residents(node.index) { fixedCopies[model, default: 0] += 1 }
            }
            var copies: [Copy] = []
            for model in layout.demand.keys.sorted() {
                let holders = layout.holders(model).filter { plannableIndices.contains($0.index) }
                guard let size = holders.map({ $0.runnerBytes(model) }).max() else { continue }
                let have = fixedCopies[model] ?? 0
                let wanted = min(layout.wantedCopies(model), have + holders.count)
                guard wanted > have else { continue }
                let asked = layout.isAskedFor(model)
                let held = layout.copies[model] ?? 0
                for count in (have + 1)...wanted {
                    let value = layout.cost(model, copies: count - 1) - layout.cost(model, copies: count)
                    guard count == 1 || value > layout.settings.minimumNetGainSeconds else { break }
                    let isChallenging =
                        count > held && challengers.countsAsHeld(model, copy: count, now: layout.now, settings: layout.settings)
                    let ranked = count <= held || isChallenging ? value * Self.heldCopyAdvantage(layout.settings) : value
                    copies.append(
                        Copy(
                            model: model, count: count, value: ranked, worth: value, isChallenging: isChallenging, bytes: size,
                            isFirstOfWantedModel: count == 1 && asked))
                }
            }
            func preferred(_ node: Int) -> [Set<ModelName>] { [layout.residents(node), previous[node] ?? []] }
            func pace(_ node: Int) -> Double { layout.paces.pace(ofNode: node) }
            let holding = Holding(
                preferred: preferred, residents: { layout.residents($0) }, held: { layout.copies[$0] ?? 0 }, pace: pace)
            let slots = plannable.reduce(0) { $0 + $1.maxLoadedModels }
            var best = Self.packTarget(copies, slots: slots, into: plannable, holding: holding)
            // A challenger that finds no room must not push the held copy it challenged out of the target
            // and leave its place empty: the farm is packed again with no challenger raised.
            if best.unplaced.contains(where: \.isChallenging) {
                let unraised = copies.map { copy in
                    var plain = copy
                    if copy.isChallenging { (plain.value, plain.isChallenging) = (copy.worth, false) }
                    return plain
                }
                best = Self.packTarget(unraised, slots: slots, into: plannable, holding: holding)
            }
            models = best.models
            nodesPlacing = Self.nodesPlacing(models)
            self.challengers = Self.challengers(
                among: copies, placed: nodesPlacing, fixedCopies: fixedCopies, layout: layout, previous: challengers)
        }

        /// The copies ranked, cut to the farm's places and packed (see `init`).
        private static func packTarget(_ unranked: [Copy], slots: Int, into plannable: [NodeSnapshot], holding: Holding) -> Packing {
            var copies = unranked
            // Every model asked for keeps a copy before any model gets another; then the most valuable
            // first. What the farm has no room for is dropped from the end. A saturated model's next copy
            // is worth more than any first copy by the waiting it saves, but a model left with none waits
            // for loads that find no idle room on a busy farm: at 125 % load the target dropped mistral
            // for codellama's fourth copy, and mistral's requests queued behind busy nodes until the 30 s
            // limit answered them 503. A saturated model's excess is refused at once instead.
            copies.sort {
                if $0.isFirstOfWantedModel != $1.isFirstOfWantedModel { return $0.isFirstOfWantedModel }
                return $0.value != $1.value ? $0.value > $1.value : $0.model < $1.model
            }
            if copies.count > slots { copies.removeLast(copies.count - slots) }
            var best = Self.packBest(copies, into: plannable, holding: holding)
            // A copy left out for want of room may fit once a less valuable one makes way; a first copy
            // left out, once any other copy does.
            for _ in 0..<Self.repacksAtMost {
                guard let last = copies.last,
                    best.unplacedFirstCopies > 0 && !last.isFirstOfWantedModel || best.unplacedValue > last.value
                else { break }
                copies.removeLast()
                let attempt = Self.packBest(copies, into: plannable, holding: holding)
                if attempt.isBetter(than: best) { best = attempt }
            }
            return best
        }

        /// The spare copies left out of this target that save more than the least valuable held spare
        /// copy it keeps (each model's next copy only), with what both saved summed (older rounds
        /// fading) since it was first seen saving `challengerMargin` times as much; one whose sums fall
        /// to par is dropped. And the challengers that got in and are not held yet: they keep counting
        /// as held until they are, or the target would drop them again before their load.
        private static func challengers(
            among candidates: [Copy], placed: [ModelName: [Int]], fixedCopies: [ModelName: Int], layout: FarmLayout,
            previous: TargetChallengers
        ) -> TargetChallengers {
            func targetCopies(_ model: ModelName) -> Int { (fixedCopies[model] ?? 0) + (placed[model]?.count ?? 0) }
            func held(_ model: ModelName) -> Int { layout.copies[model] ?? 0 }
            let keptSpares = candidates.filter { $0.count >= 2 && $0.count <= held($0.model) && $0.count <= targetCopies($0.model) }
            var next = TargetChallengers()
            let spares = candidates.filter { $0.count >= 2 && $0.count > held($0.model) }.sorted {
                $0.model != $1.model ? $0.model < $1.model : $0.count < $1.count
            }
            for copy in spares where next.entries[copy.model] == nil {
                let earlier = previous.entries[copy.model].flatMap { $0.copy == copy.count ? $0 : nil }
                if copy.count <= targetCopies(copy.model) {
                    if let earlier { next.entries[copy.model] = earlier }
                    continue
                }
                guard let weakest = keptSpares.filter({ $0.model != copy.model }).map(\.worth).min() else { continue }
                if var entry = earlier {
                    entry.add(worth: copy.worth, displacing: weakest, at: layout.now, fading: layout.settings.challengerDwellSeconds)
                    if entry.worth > entry.displacedWorth { next.entries[copy.model] = entry }
                } else if copy.worth > layout.settings.challengerMargin * weakest {
                    next.entries[copy.model] = TargetChallengers.Entry(
                        copy: copy.count, since: layout.now, worth: copy.worth, displacedWorth: weakest, updated: layout.now)
                }
            }
            return next
        }

        /// A target given whole (tests of the steps toward one).
        init(models: [Int: Set<ModelName>]) {
            self.models = models
            nodesPlacing = Self.nodesPlacing(models)
            challengers = TargetChallengers()
        }

        /// How many times a layout is packed again without its least valuable copy.
        static let repacksAtMost = 8

        private struct Packing {
            var models: [Int: Set<ModelName>] = [:]
            var placedValue = 0.0
            /// The most valuable copy that found no room (0 when all did).
            var unplacedValue = 0.0
            /// Models asked for that found no room for any copy.
            var unplacedFirstCopies = 0
            /// The model of the most valuable copy that found no room.
            var mostValuableUnplaced: ModelName?
            /// The copies that found no room.
            var unplaced: [Copy] = []

            func isBetter(than other: Packing) -> Bool {
                unplacedFirstCopies != other.unplacedFirstCopies
                    ? unplacedFirstCopies < other.unplacedFirstCopies : placedValue > other.placedValue
            }
        }

        /// What the packing knows of each node beyond its room (by node index).
        private struct Holding {
            /// The node's models in the order a copy of one prefers the node: held now, then kept by the last target.
            var preferred: (Int) -> [Set<ModelName>]
            /// What the node holds now.
            var residents: (Int) -> Set<ModelName>
            /// How many copies of a model the farm holds now.
            var held: (ModelName) -> Int
            var pace: (Int) -> Double
        }

        /// `pack`, and when a copy finds no room, `pack` again with its model's copies placed first; the
        /// better of the two. Largest first, a model held on two nodes kept the one where the hot
        /// model's last copy could go (every other node held that model already), and the target left
        /// another node's place empty.
        private static func packBest(_ copies: [Copy], into nodes: [NodeSnapshot], holding: Holding) -> Packing {
            var plain = pack(copies, into: nodes, holding: holding)
            placeByMovingAResident(&plain, into: nodes, holding: holding)
            guard let stuck = plain.mostValuableUnplaced else { return plain }
            var again = pack(copies, into: nodes, holding: holding, first: stuck)
            placeByMovingAResident(&again, into: nodes, holding: holding)
            return again.isBetter(than: plain) ? again : plain
        }

        /// Places spare copies that found no room on a full node whose place one of its models gives up
        /// for a node that holds that model now and has room for it. Packing goes largest first and keeps
        /// each copy where it is: on a 75 % trace (seed 11) `gemma2:2b`, held on gpu0 and gpu3, kept
        /// its place on gpu0, the one node without the hot model, and the hot model's fourth copy found
        /// none, though gpu3, where `gemma2:2b` also sat, had room for it; packing the hot model first
        /// left `phi3:mini`'s second copy without room instead.
        private static func placeByMovingAResident(_ packing: inout Packing, into nodes: [NodeSnapshot], holding: Holding) {
            guard !packing.unplaced.isEmpty else { return }
            var used: [Int: Int64] = [:]
            for node in nodes {
                used[node.index] = (packing.models[node.index] ?? []).reduce(0) { $0 + node.runnerBytes($1) }
            }
            var stillUnplaced: [Copy] = []
            // Only spare copies: a first copy left out has the repacking without less valuable copies
            // (`init`), and moving models for it set off relocations after a popularity shift.
            for copy in packing.unplaced.sorted(by: { $0.value > $1.value }) {
                guard copy.count >= 2 else {
                    stillUnplaced.append(copy)
                    continue
                }
                var placed = false
                search: for node in nodes where node.hasPulled(copy.model) && node.plannableVRAM != nil {
                    let here = packing.models[node.index] ?? []
                    guard !here.contains(copy.model) else { continue }
                    for model in here.sorted() {
                        let freed = (used[node.index] ?? 0) - node.runnerBytes(model)
                        guard node.plannableVRAM?.admits(node.runnerBytes(copy.model), beside: freed) ?? false else { continue }
                        let home = nodes.first { other in
                            let there = packing.models[other.index] ?? []
                            return other.index != node.index && holding.residents(other.index).contains(model) && !there.contains(model)
                                && there.count < other.maxLoadedModels
                                && (other.plannableVRAM?.admits(other.runnerBytes(model), beside: used[other.index] ?? 0) ?? false)
                        }
                        guard let home else { continue }
                        packing.models[node.index]?.remove(model)
                        packing.models[node.index]?.insert(copy.model)
                        packing.models[home.index, default: []].insert(model)
                        used[node.index] = freed + node.runnerBytes(copy.model)
                        used[home.index, default: 0] += home.runnerBytes(model)
                        packing.placedValue += copy.value
                        placed = true
                        break search
                    }
                }
                if !placed { stillUnplaced.append(copy) }
            }
            packing.unplaced = stillUnplaced
            packing.unplacedValue = stillUnplaced.map(\.value).max() ?? 0
            packing.mostValuableUnplaced = stillUnplaced.max { $0.value < $1.value }?.model
            packing.unplacedFirstCopies = stillUnplaced.filter(\.isFirstOfWantedModel).count
        }

        /// Largest first, each on a node that holds the model now if one has room, else on one the
        /// last target put it on, else on the one where it pushes out the fewest bytes of what the node
        /// holds and the target keeps, and of those the one it fills most. `preferred` gives a node's
        /// models in that order of preference; of two nodes it prefers alike, the one at the quicker
        /// `pace` keeps the copy (a model that got a copy on a typical node beside its copy on a slow
        /// one keeps the typical one, not whichever comes first in the file), and of two it would fill
        /// alike, the quicker one takes it.
        /// What a new copy pushes out must go elsewhere, where it may push out another model: placed
        /// on the fullest of three nodes alike, `gemma2:9b`'s second copy took `mistral:7b`'s place,
        /// which took `phi3:mini`'s, which took `gemma2:2b`'s, four loads one after another over 47 s
        /// with `gemma2:9b` on one copy, where a third node held a spare copy of `llama3.1:8b`.
        /// `first`'s copies, if given, go before all others.
        private static func pack(_ copies: [Copy], into nodes: [NodeSnapshot], holding: Holding, first: ModelName? = nil) -> Packing {
            let preferred = holding.preferred
            let pace = holding.pace
            // What each node holds that the target keeps every copy of, largest first: a copy that pushes
            // one out sends it to another node, where it may push out another. A model the target keeps
            // fewer copies of than the farm holds may lose any of them.
            let kept = Dictionary(copies.map { ($0.model, 1) }, uniquingKeysWith: +)
            var needed: [Int: [ModelName]] = [:]
            func neededModels(_ node: NodeSnapshot) -> [ModelName] {
                if let known = needed[node.index] { return known }
                let models = holding.residents(node.index).filter { (kept[$0] ?? 0) >= holding.held($0) }.sorted { a, b in
                    node.runnerBytes(a) != node.runnerBytes(b) ? node.runnerBytes(a) > node.runnerBytes(b) : a < b
                }
                needed[node.index] = models
                return models
            }
            var packing = Packing()
            var used: [Int: Int64] = [:]
            let order = copies.sorted {
                if ($0.model == first) != ($1.model == first) { return $0.model == first }
                return $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.value > $1.value
            }
            for copy in order {
                let fitting = nodes.filter { node in
                    let here = packing.models[node.index] ?? []
                    guard !here.contains(copy.model), node.hasPulled(copy.model), here.count < node.maxLoadedModels,
                        let budget = node.plannableVRAM
                    else { return false }
                    return budget.admits(node.runnerBytes(copy.model), beside: used[node.index] ?? 0)
                }
                func roomLeft(_ node: NodeSnapshot) -> Int64 {
                    (node.plannableVRAMBytes ?? 0) - (used[node.index] ?? 0) - node.runnerBytes(copy.model)
                }
                /// The bytes of what the node holds and the target keeps every copy of that find no room beside the copy.
                func pushedOut(by copy: Copy, from node: NodeSnapshot) -> Int64 {
                    let here = packing.models[node.index] ?? []
                    var count = here.count + 1
                    var bytes = (used[node.index] ?? 0) + node.runnerBytes(copy.model)
                    var left: Int64 = 0
                    for model in neededModels(node) where !here.contains(model) && model != copy.model {
                        let size = node.runnerBytes(model)
                        if count < node.maxLoadedModels, node.plannableVRAM?.admits(size, beside: bytes) ?? false {
                            count += 1
                            bytes += size
                        } else {
                            left += size
                        }
                    }
                    return left
                }
                // A node slower than the typical one is not kept for what it holds: a model alone there
                // (`codellama:13b`, cold-loaded on it before it slowed) was kept there by the target
                // while its requests waited 13 s, and no move off it was a step.
                let preference = fitting.map { node in
                    pace(node.index) > 1 ? Int.max : preferred(node.index).firstIndex { $0.contains(copy.model) } ?? Int.max
                }
                let chosen =
                    zip(fitting, preference).filter { $0.1 != Int.max }.min {
                        $0.1 != $1.1 ? $0.1 < $1.1 : pace($0.0.index) < pace($1.0.index)
                    }?.0
                    ?? zip(fitting, fitting.map { pushedOut(by: copy, from: $0) }).min {
                        if $0.1 != $1.1 { return $0.1 < $1.1 }
                        if roomLeft($0.0) != roomLeft($1.0) { return roomLeft($0.0) < roomLeft($1.0) }
                        return pace($0.0.index) != pace($1.0.index) ? pace($0.0.index) < pace($1.0.index) : $0.0.index < $1.0.index
                    }?.0
                guard let node = chosen else {
                    packing.unplaced.append(copy)
                    if copy.value > packing.unplacedValue { packing.mostValuableUnplaced = copy.model }
                    packing.unplacedValue = max(packing.unplacedValue, copy.value)
                    if copy.isFirstOfWantedModel { packing.unplacedFirstCopies += 1 }
                    continue
                }
                packing.models[node.index, default: []].insert(copy.model)
                packing.placedValue += copy.value
                used[node.index, default: 0] += node.runnerBytes(copy.model)
            }
            return packing
        }
    }
}

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
