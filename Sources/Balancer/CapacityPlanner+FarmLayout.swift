import Foundation

extension CapacityPlanner {
    /// The farm as the moves planned so far this round will leave it: which models each healthy
    /// node holds (loaded or loading), how many copies each model has, and which nodes have had
    /// their one load of the round. Each move is weighed against the layout the moves before it
    /// leave, so two moves never count on the same free room.
    struct FarmLayout {
        let healthy: [NodeSnapshot]
        let demand: [ModelName: Demand]
        let now: Double
        let costModel: CostModel
        let settings: Settings
        /// Copies per model, loaded or loading: what the farm will have once loads finish.
        private(set) var copies: [ModelName: Int] = [:]
        /// Copies answering requests now. Unloading the last of these makes requests wait even while
        /// another copy is loading, so it is what decides whether a copy is a model's last.
        private(set) var warmCopies: [ModelName: Int] = [:]
        private var resident: [Int: Set<ModelName>] = [:]
        /// Nodes that take no planned load this round: Ollama loads one model at a time, so a node
        /// already loading, or given a load by this round's plan, waits for the next round.
        var taken: Set<Int>
        /// Per model, worked out once a round: the plan weighs thousands of moves on a large farm, and
        /// recomputing these inside each (a scan of every node, an Erlang C sum) took a 64-node,
        /// 100-model farm 17 s a round.
        private var holdersByModel: [ModelName: [NodeSnapshot]] = [:]
        /// The same by node index: the plan's loop looks a node up only once it may take the load. Most
        /// nodes are skipped (each takes one load a round), and copying their snapshots for every model
        /// weighed was a fifth of a 64-node plan.
        private var holderIndicesByModel: [ModelName: [Int]] = [:]
        private var positionInHealthy: [Int: Int] = [:]
        private var plannable: Set<Int> = []
        private var facts: [ModelName: ModelFacts] = [:]
        /// Where this round's plan is heading (`TargetLayout`); nil until the planner sets it.
        var target: TargetLayout? {
            didSet {
                victimMemo.forgetAll()
                roomWorthMemo.forget()
            }
        }
        /// Victim sets worked out since the layout last changed (see `VictimMemo`).
        let victimMemo = CapacityPlanner.VictimMemo()
        /// What room on each node is worth to a chain of moves, since the layout last changed (`worthOfRoomLeft`).
        let roomWorthMemo = CapacityPlanner.RoomWorthMemo()
        /// How fast each node answers (`NodePaces`); the demand's service times are a typical node's.
        let paces: NodePaces
        /// Where nodes differ in pace, each model's copies counted in typical copies (Σ 1/pace), as
        /// the moves planned so far leave them (`effectiveCopies`).
        private var typicalCopies: [ModelName: Double] = [:]
        /// Steps may unload a model's only warm copy while its copy where the target keeps it is not
        /// loaded yet: what a round does when waiting would stall the farm (`waitsToMakeBeforeBreaking`).
        var breaksBeforeMaking = false
        /// The demand offers at least `Settings.busyFarmShareOfSlots` of the slots of every copy on the
        /// farm (loaded or loading). Then a copy moved only moves the waiting: its slots were busy
        /// where it was. That is where GPUs their runners share end up under load: each answer slows
        /// the node's others, so service times stretch until the slots fill (at 100 % of the token
        /// capacity, 20-24 of the farm's 24 slots were offered), and every model looks saturated.
        let slotsMostlyBusy: Bool

        private struct ModelFacts {
            var slots: Int
            var loadSeconds: Double
            /// Copies the model's demand calls for.
            var wantedCopies: Int
            /// Waiting over the horizon with 0, 1, 2, … copies, up to one per holder and one more.
            var costs: [Double]
            /// The same at the demand's cautious rate, when it is lower.
            var cautiousCosts: [Double]?
        }

        init(
            nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel, settings: Settings,
            paces: NodePaces? = nil
        ) {
            healthy = nodes.filter { $0.health == .healthy }
            self.demand = demand
            self.now = now
            self.costModel = costModel
            self.settings = settings
            for node in healthy {
                // A comeback waiting for its copy to drain is a load to come, as it shows once claimed.
                let models = Set(node.loaded.keys).union(node.loading.keys).union(node.comebacksAwaitingDrain)
                resident[node.index] = models
                for model in models { copies[model, default: 0] += 1 }
                for model in node.loaded.keys { warmCopies[model, default: 0] += 1 }
            }
            taken = Set(healthy.filter { !$0.loading.isEmpty }.map(\.index))
            slotsMostlyBusy = CapacityPlanner.slotsMostlyBusy(nodes: healthy, demand: demand, settings: settings)
            self.paces = paces ?? NodePaces(nodes)
            if !self.paces.isUniform {
                for (index, models) in resident {
                    for model in models { typicalCopies[model, default: 0] += 1 / self.paces.pace(ofNode: index) }
                }
            }
            for (position, node) in healthy.enumerated() {
                positionInHealthy[node.index] = position
                if node.plannableVRAMBytes != nil { plannable.insert(node.index) }
                for model in node.pulled.keys where demand[model] != nil {
                    holdersByModel[model, default: []].append(node)
                    holderIndicesByModel[model, default: []].append(node.index)
                }
            }
            for (model, wanted) in demand {
                let holders = holdersByModel[model] ?? []
                let slots = holders.map(\.maxParallel).min() ?? 1
                let loadSeconds = holders.map { costModel.predictedLoadSeconds(model, on: $0) }.min() ?? costModel.defaultServiceSeconds
                let backlog = Backlog(
                    demand: wanted, warmServers: (warmCopies[model] ?? 0) * slots, loadSeconds: loadSeconds, settings: settings)
                let costs = (0...(holders.count + 1)).map {
                    waitingCost(copies: $0, slotsPerCopy: slots, demand: wanted, loadSeconds: loadSeconds, settings: settings)
                        + (backlog?.waitingSeconds(servers: $0 * slots) ?? 0)
                }
                var wantedCopies = CapacityPlanner.wantedCopies(
                    model, wanted, holders: holders.count, slotsPerCopy: slots, settings: settings)
                // A queue that outlasts a load wants the copies that drain it soon, for as long as it lasts.
                if let servers = backlog?.serversToDrain(within: settings.backlogDrainSeconds, maxServers: holders.count * slots) {
                    wantedCopies = max(wantedCopies, min(holders.count, (servers + slots - 1) / slots))
                }
                var cautiousCosts: [Double]?
                if let cautious = wanted.cautiousRate, cautious < wanted.rate {
                    var calmer = wanted
                    calmer.rate = cautious
                    cautiousCosts = (0...(holders.count + 1)).map {
                        waitingCost(copies: $0, slotsPerCopy: slots, demand: calmer, loadSeconds: loadSeconds, settings: settings)
                            + (backlog?.waitingSeconds(servers: $0 * slots) ?? 0)
                    }
                }
                facts[model] = ModelFacts(
                    slots: slots, loadSeconds: loadSeconds, wantedCopies: wantedCopies, costs: costs, cautiousCosts: cautiousCosts)
            }
        }

        /// Healthy nodes that have the model pulled, in node order.
        func holders(_ model: ModelName) -> [NodeSnapshot] { holdersByModel[model] ?? [] }

        /// The indices of `holders(model)`.
        func holderIndices(_ model: ModelName) -> [Int] { holderIndicesByModel[model] ?? [] }

        /// The healthy node with this index.
        func node(_ index: Int) -> NodeSnapshot { healthy[positionInHealthy[index]!] }

        /// Copies the model's demand calls for (at most one per holder).
        func wantedCopies(_ model: ModelName) -> Int { facts[model]?.wantedCopies ?? 0 }

        /// The copies `model` has, loaded or loading, each counted as the part of a typical node's
        /// copy it serves (a copy on a node at pace 4 is a quarter); on a farm of like nodes, the count.
        func effectiveCopies(_ model: ModelName) -> Double {
            paces.isUniform ? Double(copies[model] ?? 0) : max(0, typicalCopies[model] ?? 0)
        }

        func hosts(_ model: ModelName, on nodeIndex: Int) -> Bool { resident[nodeIndex]?.contains(model) ?? false }

        /// Models the node holds, loaded or loading, as the moves planned so far leave it.
        func residents(_ nodeIndex: Int) -> Set<ModelName> { resident[nodeIndex] ?? [] }

        /// One planned load per node a round, where the planner knows how much VRAM it may fill
        /// (`NodeSnapshot.plannableVRAMBytes`): elsewhere Ollama might make a planned copy wait for
        /// room and hold up loads that requests are waiting for.
        func takesPlannedLoad(_ node: NodeSnapshot) -> Bool { takesPlannedLoad(nodeAt: node.index) }

        /// `takesPlannedLoad` for the healthy node with this index.
        func takesPlannedLoad(nodeAt index: Int) -> Bool { plannable.contains(index) && !taken.contains(index) }

        func slots(_ model: ModelName) -> Int { facts[model]?.slots ?? 1 }

        /// The model's predicted load time on the holder that loads it fastest.
        func loadSeconds(_ model: ModelName) -> Double { facts[model]?.loadSeconds ?? costModel.defaultServiceSeconds }

        func cost(_ model: ModelName, copies count: Int) -> Double {
            // Facts are kept for every model in the demand, so the demand is looked up only past them.
            guard let known = facts[model] else { return 0 }
            if count >= 0 && count < known.costs.count { return known.costs[count] }
            guard let wanted = demand[model] else { return 0 }
            return waitingCost(copies: count, slotsPerCopy: known.slots, demand: wanted, loadSeconds: known.loadSeconds, settings: settings)
        }

        /// `cost(_:copies:)` at the demand's cautious rate, where it is lower and was worked out.
        func cautiousCost(_ model: ModelName, copies count: Int) -> Double {
            guard let calmer = facts[model]?.cautiousCosts, count >= 0, count < calmer.count else { return cost(model, copies: count) }
            return calmer[count]
        }

        /// Waiting one more copy saves, at the demand's cautious rate: what a move that takes copies
        /// other models need is weighed on.
        func cautiousGain(_ model: ModelName, copies count: Int) -> Double {
            guard let cautious = facts[model]?.cautiousCosts, count >= 0, count + 1 < cautious.count else {
                return cost(model, copies: count) - cost(model, copies: count + 1)
            }
            return cautious[count] - cautious[count + 1]
        }

        mutating func apply(_ move: Move) {
            victimMemo.forget(nodes: nodesAffected(by: move))
            roomWorthMemo.forget()
            copies[move.model, default: 0] += 1
            resident[move.nodeIndex, default: []].insert(move.model)
            let part = paces.isUniform ? 0 : 1 / paces.pace(ofNode: move.nodeIndex)
            typicalCopies[move.model, default: 0] += part
            for victim in move.evicting {
                warmCopies[victim, default: 1] -= 1
                // A victim coming back stays the node's, as a copy loading: the same round placed
                // `phi3:mini` on a second node in place of `qwen2.5:7b`'s copy, counting it as gone.
                guard !move.comingBack.contains(victim) else { continue }
                typicalCopies[victim, default: 0] -= part
                copies[victim, default: 1] -= 1
                resident[move.nodeIndex]?.remove(victim)
            }
            taken.insert(move.nodeIndex)
        }

        /// Nodes whose victim sets `move` changes: its own, and every node holding a model whose
        /// count of copies it changes (a victim is priced by its model's copies, `victims`).
        private func nodesAffected(by move: Move) -> [Int] {
            let changed = Set(move.evicting).union([move.model])
            return resident.filter { $0.key == move.nodeIndex || !$0.value.isDisjoint(with: changed) }.map(\.key)
        }

        /// Loading `model` on `node`, after unloading the idle models whose loss costs least, when
        /// that saves clearly more waiting than it causes; with the move's score among the others.
        /// A move that unloads something is weighed on `cautiousGain` (see `Demand.cautiousRate`).
        func directMove(_ model: ModelName, gain: Double, on node: NodeSnapshot, mayEvict: Bool) -> (move: Move, score: Double)? {
            // The cheapest victims, and where the target puts the model here, the victims it does not
            // keep here: the cheapest set can take a copy the target keeps (gemma2:9b's second beside
            // the hot model's third) where the target's way in unloads a small model it moves elsewhere.
            var options = [victims(for: model, on: node)].compactMap { $0 }
            if let keep = target?.models[node.index], keep.contains(model),
                let toward = victims(for: model, on: node, keeping: keep), !options.contains(where: { $0.models == toward.models })
            {
                options.append(toward)
            }
            var best: (move: Move, score: Double)?
            for option in options {
                guard let made = directMove(model, gain: gain, on: node, mayEvict: mayEvict, evicting: option) else { continue }
                if best == nil || made.score > best!.score { best = made }
            }
            return best
        }

        /// `directMove` with the victims given.
        private func directMove(_ model: ModelName, gain: Double, on node: NodeSnapshot, mayEvict: Bool, evicting victims: Victims) -> (
            move: Move, score: Double
        )? {
            let appraisal = appraise(model, gain: gain, on: node, evicting: victims)
            if takesLastCopyTheTargetKeeps(for: model, appraisal) { return nil }
            let victims = appraisal.victims
            let net = appraisal.gain - victims.cost
            if !victims.models.isEmpty {
                guard mayEvict, net > appraisal.minimumNetGain, appraisal.gain >= appraisal.gainOverCostNeeded * victims.cost else {
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
            let move = Move(
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
            return Appraisal(
                victims: victims, isStep: isStep, gain: weighed, gainOverCostNeeded: multiple,
                minimumNetGain: unloadsOnlySpares ? -settings.minimumNetGainSeconds : isStep ? 0 : settings.minimumNetGainSeconds)
        }

        /// No copy loaded or loading, and requests queued for it: they wait for a load whatever the plan
        /// does, so a last copy taken for it swaps one waiting model for another.
        func isUncovered(_ model: ModelName) -> Bool { (copies[model] ?? 0) == 0 && (demand[model]?.queued ?? 0) > 0 }

        /// A copy whose loss costs less waiting than a move must save to be worth making.
        func isSpare(_ model: ModelName) -> Bool {
            !isLastWantedCopy(model, warm: warmCopies) && evictionCost(model, copies: copies) < settings.minimumNetGainSeconds
        }

        /// What unloading one copy of `victim` costs, with `copies` counted in whole copies: the
        /// waiting its remaining copies add.
        func evictionCost(_ victim: ModelName, copies: [ModelName: Int]) -> Double {
            let count = copies[victim] ?? 1
            return cost(victim, copies: max(0, count - 1)) - cost(victim, copies: count)
        }

        /// What unloading `victim`'s copy on `nodeIndex` costs, from the copies the moves so far
        /// leave it. Where nodes differ in pace, that copy is priced by the part of a copy it serves.
        func evictionCost(_ victim: ModelName, onNode nodeIndex: Int) -> Double {
            guard !paces.isUniform else { return evictionCost(victim, copies: copies) }
            let have = effectiveCopies(victim)
            return max(0, cost(victim, typical: max(0, have - 1 / paces.pace(ofNode: nodeIndex))) - cost(victim, typical: have))
        }

        /// The only warm copy of a model asked for at least once a horizon: unloading it sends the
        /// model's next request to a cold load that pushes out something else.
        func isLastWantedCopy(_ victim: ModelName, warm: [ModelName: Int]) -> Bool {
            (warm[victim] ?? 0) <= 1 && isAskedFor(victim)
        }

        /// Asked for at least once a horizon: a model whose last copy is worth keeping, and whose first
        /// copy the target places before any model's second.
        func isAskedFor(_ model: ModelName) -> Bool { (demand[model]?.rate ?? 0) * settings.horizonSeconds >= 1 }

        /// Waiting one more copy of `model` saves, from the copies the moves so far leave it.
        func nextCopyGain(_ model: ModelName) -> Double {
            guard paces.isUniform else {
                let have = effectiveCopies(model)
                return cost(model, typical: have) - cost(model, typical: have + 1)
            }
            let count = copies[model] ?? 0
            return cost(model, copies: count) - cost(model, copies: count + 1)
        }

        /// Idle, not queued for, and either resident long enough that unloading it is not thrashing
        /// or a copy beyond what its model's demand calls for. The first minute's cold loads follow
        /// the first requests, not demand: a third copy of a middling model must not hold its node
        /// for a minute while the hot model queues on one copy.
        func isEvictable(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
            isIdle(victim, on: node) && !isYoung(victim, on: node)
        }

        /// No request in flight or queued for it, and not loading: unloading it makes nobody wait now.
        func isIdle(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
            node.inFlight(victim) == 0 && !node.isLoading(victim) && (demand[victim]?.queued ?? 0) == 0
        }

        /// A copy a planned load may unload: idle, or (`Settings.drainsBusyCopies`) serving requests
        /// that it finishes first while new ones go elsewhere. Not while it loads, nor while requests
        /// queue for its model: then every copy of it is needed now.
        func isDrainable(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
            settings.drainsBusyCopies
                ? !node.isLoading(victim) && (demand[victim]?.queued ?? 0) == 0 : isIdle(victim, on: node)
        }

        /// Resident for less than the minimum residency, and neither a copy beyond what demand calls for
        /// nor one the target moves away (`isLeftBehindByTarget`).
        func isYoung(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
            now - (node.loadedAt[victim] ?? -.infinity) < settings.minimumResidencySeconds && !isSurplus(victim)
                && !isLeftBehindByTarget(victim, on: node)
        }

        /// A copy the target does not keep on this node, of a model it keeps on fewer nodes than hold it
        /// (and on one at least). A cold start's copies follow the first requests: on a large-first run a
        /// second copy of `phi3:mini` loaded at 22 s was protected as young until 82 s, and the chain of
        /// steps that gave `gemma2:9b` its second copy waited behind it.
        func isLeftBehindByTarget(_ victim: ModelName, on node: NodeSnapshot) -> Bool {
            guard let target, !target.places(victim, on: node.index) else { return false }
            let kept = target.copies(of: victim)
            return kept >= 1 && kept < (copies[victim] ?? 0)
        }

        /// More copies than the model's demand calls for (not counting any for a model not asked for).
        func isSurplus(_ model: ModelName) -> Bool {
            demand[model] != nil && (copies[model] ?? 0) > max(1, wantedCopies(model))
        }
    }
}
