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
    }
}
