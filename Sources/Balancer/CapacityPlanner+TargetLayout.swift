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
    /// And a copy the last round's target kept outranks one it left out until it saves 1.5 times
    /// less: in the minutes after a shift two layouts took turns as the target round by round, and
    /// steps toward each undid the other's (`mistral:7b` loaded, unloaded 10 s later, loaded back).
    /// A chain's free end can be credited with its head's gain (`Appraisal.headWorth`) only on a
    /// target that holds still: on a flipping one the credited moves chased each flip.
    struct TargetLayout {
        /// Models the target puts on each node that takes planned loads.
        let models: [Int: Set<ModelName>]
        /// The same turned round: the nodes the target puts each model on. The plan asks of every model
        /// where the target wants it after each of its moves, and a scan of every node for each asked
        /// was about a quarter of a 64-node plan's time.
        let nodesPlacing: [ModelName: [Int]]
        /// Copies left out only for the advantage of held ones, for the next round (`TargetChallengers`).
        let challengers: TargetChallengers
        /// Per model, the copies worth loading that found no place: the nodes' loaded-model caps or
        /// VRAM hold fewer copies than the demand calls for. What the operator is told to add room for.
        let leftOutForRoom: [ModelName: Int]

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
        struct Copy {
            var model: ModelName
            /// Which copy of the model it is (2 for the second).
            var count: Int
            /// What it saves, raised by `heldCopyAdvantage` for a copy the farm holds now, or by
            /// `Settings.targetKeptAdvantage` for one the last round's target kept: what the target
            /// ranks and packs by.
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
            var lastTargetCopies = fixedCopies
            for (nodeIndex, placed) in previous where plannableIndices.contains(nodeIndex) {
                for model in placed { lastTargetCopies[model, default: 0] += 1 }
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
                    let advantage =
                        count <= held || isChallenging
                        ? Self.heldCopyAdvantage(layout.settings)
                        : count <= lastTargetCopies[model, default: 0] ? layout.settings.targetKeptAdvantage : 1
                    copies.append(
                        Copy(
                            model: model, count: count, value: value * advantage, worth: value, isChallenging: isChallenging, bytes: size,
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
            let placing = Self.nodesPlacing(best.models)
            // A model asked for less than once a horizon is no shortfall: its first copy is a candidate only to use a free place.
            var worthLoading: [ModelName: Int] = [:]
            for copy in copies where copy.count >= 2 || copy.isFirstOfWantedModel { worthLoading[copy.model, default: 0] += 1 }
            models = best.models
            nodesPlacing = placing
            leftOutForRoom = Dictionary(
                uniqueKeysWithValues: worthLoading.compactMap { model, count in
                    let short = count - (placing[model]?.count ?? 0)
                    return short > 0 ? (model, short) : nil
                })
            self.challengers = Self.challengers(
                among: copies, placed: nodesPlacing, fixedCopies: fixedCopies, layout: layout, previous: challengers)
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
            leftOutForRoom = [:]
        }

        /// How many times a layout is packed again without its least valuable copy.
        static let repacksAtMost = 8
    }
}
