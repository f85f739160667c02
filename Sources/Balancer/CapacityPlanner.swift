import Foundation

/// Sizes every model's warm copies to its demand and fits them into the farm. Placement alone
/// only loads a model when a request cannot wait, so a hot model held by two nodes queues there
/// while rarely asked models sit idle in the VRAM of the others. The planner keeps, per model,
/// the measured arrival rate and service time, turns them into offered load, and asks Erlang C
/// how many servers (copies × parallel slots) keep the wait for a slot under a target. Then it
/// moves the farm toward that plan one load per node at a time, evicting the idle copies whose
/// loss costs the least waiting, and only when the move saves clearly more than it costs.
///
/// Values are seconds of waiting over a planning horizon, so a hot model's extra copy (many
/// requests each waiting less) is weighed against a rare model's last copy (its next request
/// waiting a whole cold load). Pure: the caller supplies the snapshots, the demand and the time.
public enum CapacityPlanner {
    public struct Settings: Sendable, Equatable {
        /// Plan for a request waiting longer than this for a slot at most `tailProbability` of the time.
        public var waitTargetSeconds = 1.0
        public var tailProbability = 0.05
        /// Arrivals at a farm come in bursts (conversations, batch clients): plan for this much more load.
        public var burstFactor = 1.2
        /// A copy is not evicted by the planner until it has been resident this long (no thrashing).
        public var minimumResidencySeconds = 60.0
        /// Seconds ahead over which waiting saved and waiting caused are weighed.
        public var horizonSeconds = 60.0
        /// A move must save at least this many seconds of waiting over the horizon, net of what it costs.
        public var minimumNetGainSeconds = 5.0
        /// ...and at least this many times what its evictions cost (hysteresis against swapping back and forth).
        public var gainOverCost = 2.0
        /// ...or this many times, when it unloads the only copy of a model that is still asked for.
        public var lastCopyGainOverCost = 5.0
        /// Demand below this (requests/s) gets no planned copy: placement loads the model when asked.
        public var minimumRate = 0.01
        /// A wait for a slot longer than this shows in the tail of time to first token.
        public var noticeableWaitSeconds = 0.25
        /// A model whose copies cannot keep up (offered load ≥ servers) is counted as waiting this long.
        public var saturatedWaitSeconds = 60.0

        public init() {}
    }

    /// What the planner knows of one model's demand across the farm.
    public struct Demand: Sendable, Equatable {
        /// Requests per second (a decayed average).
        public var rate: Double
        /// Seconds a request holds its slot (prompt evaluation and generation).
        public var serviceSeconds: Double
        /// Requests waiting in TensorWall's queue for the model right now.
        public var queued: Int

        public init(rate: Double, serviceSeconds: Double, queued: Int = 0) {
            self.rate = rate
            self.serviceSeconds = serviceSeconds
            self.queued = queued
        }

        public var offeredLoad: Double { rate * serviceSeconds }
    }

    /// Load `model` on a node, after unloading `evicting` there.
    public struct Move: Sendable, Equatable {
        public var model: ModelName
        public var nodeIndex: Int
        public var evicting: [ModelName]
        public var predictedLoadSeconds: Double
    }

    /// Warm copies each model should have, before fitting: enough servers for the wait target,
    /// at most one per healthy node that has the model pulled.
    public static func wantedCopies(
        _ model: ModelName, _ demand: Demand, holders: Int, slotsPerCopy: Int, settings: Settings = Settings()
    ) -> Int {
        guard demand.rate >= settings.minimumRate || demand.queued > 0, holders > 0 else { return 0 }
        let servers = ErlangC.serversNeeded(
            offered: demand.offeredLoad * settings.burstFactor, service: demand.serviceSeconds, waitAtMost: settings.waitTargetSeconds,
            probability: settings.tailProbability)
        let copies = (max(1, servers) + slotsPerCopy - 1) / max(1, slotsPerCopy)
        return min(holders, max(1, copies))
    }

    /// Expected seconds one request for the model waits for a slot with `copies` (≥ 1) warm copies:
    /// Erlang C's mean wait while the copies keep up; once they cannot (offered load ≥ servers) the
    /// backlog grows through the horizon, and a request waits on average for half of what piles up.
    /// Both parts keep falling as servers are added, so an overloaded model still sees what one more
    /// copy buys. The queue waiting right now is left out: a queue of a request or two is what Erlang C
    /// predicts for a busy copy and is gone before a new copy could load, and the requests in a queue
    /// that lasts are already in the arrival rate.
    static func waitPerRequest(copies: Int, slotsPerCopy: Int, demand: Demand, settings: Settings) -> Double {
        let servers = Double(max(1, copies) * max(1, slotsPerCopy))
        let offered = demand.offeredLoad
        guard offered < servers else {
            return settings.saturatedWaitSeconds + (offered - servers) * settings.horizonSeconds / (2 * servers)
        }
        let erlang = ErlangC.meanWait(servers: Int(servers), offered: offered, service: demand.serviceSeconds)
        // The tail is what users see (p95 time to first token): a request that waits noticeably
        // counts as if it had waited a whole service time, on top of the mean.
        let noticeable = ErlangC.probabilityOfWaitingLonger(
            than: settings.noticeableWaitSeconds, servers: Int(servers), offered: offered, service: demand.serviceSeconds)
        return min(settings.saturatedWaitSeconds, erlang + noticeable * demand.serviceSeconds)
    }

    /// Seconds of waiting over the horizon with `copies` copies, for every request expected in it.
    /// With no copy at all, each of them also pays for a cold load somewhere (and the load pushes
    /// some other model out: demand that is real comes back).
    static func waitingCost(copies: Int, slotsPerCopy: Int, demand: Demand, loadSeconds: Double, settings: Settings) -> Double {
        let requests = demand.rate * settings.horizonSeconds
        let perRequest = waitPerRequest(copies: max(1, copies), slotsPerCopy: slotsPerCopy, demand: demand, settings: settings)
        let withoutCopy = copies == 0 ? loadSeconds * max(requests, 1 - exp(-demand.rate * settings.horizonSeconds)) : 0
        return perRequest * requests + withoutCopy
    }

    public static func plan(
        nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel = CostModel(), settings: Settings = Settings()
    ) -> [Move] {
        let healthy = nodes.filter { $0.health == .healthy }
        // Copies counted as the farm will be: loaded or loading on a healthy node.
        var copies: [ModelName: Int] = [:]
        var hosts: [Int: Set<ModelName>] = [:]
        for node in healthy {
            let resident = Set(node.loaded.keys).union(node.loading.keys)
            hosts[node.index] = resident
            for model in resident { copies[model, default: 0] += 1 }
        }
        func slots(_ model: ModelName) -> Int {
            let parallel = healthy.filter { $0.hasPulled(model) }.map(\.maxParallel)
            return parallel.isEmpty ? 1 : parallel.min()!
        }
        func loadSeconds(_ model: ModelName) -> Double {
            let estimates = healthy.filter { $0.hasPulled(model) }.map { costModel.predictedLoadSeconds(model, on: $0) }
            return estimates.min() ?? costModel.defaultServiceSeconds
        }
        func cost(_ model: ModelName, copies count: Int) -> Double {
            guard let wanted = demand[model] else { return 0 }
            return waitingCost(
                copies: count, slotsPerCopy: slots(model), demand: wanted, loadSeconds: loadSeconds(model), settings: settings)
        }
        // Ollama loads one model at a time: a node already loading takes no planned load.
        var busy = Set(healthy.filter { !$0.loading.isEmpty }.map(\.index))
        var moves: [Move] = []
        var queueCopyPlanned: Set<ModelName> = []
        while true {
            var best: (move: Move, net: Double)?
            for model in demand.keys.sorted() {
                let wanted = demand[model]!
                let holders = healthy.filter { $0.hasPulled(model) }
                let slotsPerCopy = slots(model)
                let target = wantedCopies(model, wanted, holders: holders.count, slotsPerCopy: slotsPerCopy, settings: settings)
                let current = copies[model] ?? 0
                // A queue at least as deep as the model's slots (every slot busy, and as many waiting)
                // may take one copy in free room, which evicts nothing; only the averages may evict for a
                // copy. A queue of a request or two comes and goes with chance: evicting on it swapped
                // copies back and forth between models, and filling room on it took nodes' load turns.
                let warmSlots = current * slotsPerCopy
                let queueWantsFreeRoom =
                    wanted.queued > 0 && wanted.queued >= warmSlots && current < holders.count && !queueCopyPlanned.contains(model)
                let gain = cost(model, copies: current) - cost(model, copies: current + 1)
                let averagesWantCopy = current < target && gain > settings.minimumNetGainSeconds
                guard averagesWantCopy || queueWantsFreeRoom else { continue }
                // Only where VRAM is known (`vramGB`, or what the node showed): elsewhere Ollama might make
                // a planned copy wait for room and hold up loads that requests are waiting for.
                for node in holders
                where node.vramBudgetBytes != nil && !busy.contains(node.index) && !(hosts[node.index]?.contains(model) ?? false) {
                    guard
                        let victims = victims(
                            for: model, on: node, resident: hosts[node.index] ?? [], copies: copies, demand: demand, now: now,
                            settings: settings,
                            evictionCost: { victim in
                                let count = copies[victim] ?? 1
                                return cost(victim, copies: max(0, count - 1)) - cost(victim, copies: count)
                            })
                    else { continue }
                    let net = gain - victims.cost
                    if !victims.models.isEmpty {
                        // Unloading the only copy of a model still asked for starts a chain of reloads: only
                        // for a gain several times larger (a new hot model, say).
                        let multiplier = victims.takesLastWantedCopy ? settings.lastCopyGainOverCost : settings.gainOverCost
                        guard averagesWantCopy, net > settings.minimumNetGainSeconds, gain >= multiplier * victims.cost else { continue }
                    }
                    // Among equals, the node that keeps the most free room (fewest evictions, then least used).
                    let score = net - Double(victims.models.count) * 0.01 - Double(node.totalInFlight) * 0.001
                    if best == nil || score > best!.net {
                        let load = costModel.predictedLoadSeconds(model, on: node)
                        best = (Move(model: model, nodeIndex: node.index, evicting: victims.models, predictedLoadSeconds: load), score)
                    }
                }
            }
            guard let chosen = best?.move else { return moves }
            moves.append(chosen)
            queueCopyPlanned.insert(chosen.model)  // a queue is answered by one new copy a round
            busy.insert(chosen.nodeIndex)
            copies[chosen.model, default: 0] += 1
            hosts[chosen.nodeIndex, default: []].insert(chosen.model)
            for victim in chosen.evicting {
                copies[victim, default: 1] -= 1
                hosts[chosen.nodeIndex]?.remove(victim)
            }
        }
    }

    /// The cheapest set of idle models to unload on `node` so that `model` fits its VRAM and its
    /// loaded-model cap; nil when it cannot be made to fit without touching a model that is busy,
    /// queued for, or loaded too recently. Surplus copies and models nobody asks for go first; the
    /// only copy of a model still asked for (at least once a horizon) goes last, and the caller
    /// asks more of a move that takes one (`takesLastWantedCopy`): such a model comes straight back
    /// with a cold load that pushes out something else.
    static func victims(
        for model: ModelName, on node: NodeSnapshot, resident: Set<ModelName>, copies: [ModelName: Int], demand: [ModelName: Demand],
        now: Double, settings: Settings, evictionCost: (ModelName) -> Double
    ) -> (models: [ModelName], cost: Double, takesLastWantedCopy: Bool)? {
        let size = node.pulled[model]?.sizeBytes ?? 0
        func bytes(_ name: ModelName) -> Int64 { node.loaded[name]?.vramBytes ?? node.pulled[name]?.sizeBytes ?? 0 }
        var count = resident.count
        var used = resident.reduce(Int64(0)) { $0 + bytes($1) }
        let budget = node.vramBudgetBytes
        func fits() -> Bool { count < node.maxLoadedModels && (budget.map { used + size <= $0 } ?? true) }
        if fits() { return ([], 0, false) }
        func isLastWantedCopy(_ victim: ModelName) -> Bool {
            (copies[victim] ?? 1) <= 1 && (demand[victim]?.rate ?? 0) * settings.horizonSeconds >= 1
        }
        let candidates =
            resident
            .filter { victim in
                node.inFlight(victim) == 0 && !node.isLoading(victim) && (demand[victim]?.queued ?? 0) == 0
                    && now - (node.loadedAt[victim] ?? -.infinity) >= settings.minimumResidencySeconds
            }
            .map { (model: $0, cost: evictionCost($0), last: isLastWantedCopy($0)) }
            .sorted { a, b in
                if a.last != b.last { return !a.last }
                return a.cost != b.cost ? a.cost < b.cost : a.model < b.model
            }
        var chosen: [ModelName] = []
        var total = 0.0
        var takesLast = false
        for candidate in candidates {
            chosen.append(candidate.model)
            total += candidate.cost
            takesLast = takesLast || candidate.last
            count -= 1
            used -= bytes(candidate.model)
            if fits() { return (chosen, total, takesLast) }
        }
        return nil
    }
}
