import Foundation

/// Predicts, for one node, how long a request for a model would take to get its first token
/// there: the wait for a parallel slot, the rest of a load already under way, or a cold load
/// (learned per node from `load_duration`), plus what the eviction it forces would cost later.
/// Placement picks the smallest prediction, which is what keeps cold loads rare.
public struct CostModel: Sendable {
    /// Runner start-up before weights stream in; also subtracted when learning a node's load rate.
    public static let loadBaseSeconds = 1.0
    /// Seconds per GB of weights until a node has shown its own rate.
    public var defaultLoadSecondsPerGB = 1.0
    /// Seconds a request holds its slot until one has been measured.
    public var defaultServiceSeconds = 5.0
    /// How many of a busy victim's requests a load that must evict it is expected to wait for.
    public var busyVictimServiceCount = 3.0
    /// A model that does not fit in VRAM runs partly on the CPU, many times slower.
    public var spillPenaltySeconds = 120.0
    /// How far ahead an evicted model's demand is counted against the eviction.
    public var demandHorizonSeconds = 60.0
    /// A copy loaded less than this long ago costs twice as much to evict.
    public var recentLoadSeconds = 60.0
    /// A node that failed its last probe (`NodeHealth.suspect`) is priced this much later: if it
    /// hangs, a request sent there waits until the second probe takes it out of service (the
    /// re-probe's delay and its timeout) before it moves on. So a warm slot elsewhere, or a short
    /// wait for one, wins, while a cold load elsewhere still loses to a warm copy there: most
    /// suspects pass the second probe. The default fits the default probe settings (`Cluster`
    /// callers set it from theirs, in farm seconds).
    public var suspectNodeSeconds = 1.5

    public init() {}

    public struct Estimate: Sendable, Equatable {
        public var nodeIndex: Int
        /// Expected seconds until the first token.
        public var seconds: Double
        public var claim: SlotClaim
        /// False when no slot is free now: the request should wait in TensorWall's queue.
        public var startsNow: Bool
        /// Idle models a cold load unloads first to make room.
        public var evicting: [ModelName] = []
        /// Every model a cold load will unload, busy or idle: `evicting` names them only when the load
        /// can start now, and placement compares what the loads would take away either way.
        public var unloads: [ModelName]
        /// Expected seconds this request waits for its first token, without the placement penalties in
        /// `seconds` (what the models it unloads will cost later, a spill to the CPU): what a refusal's
        /// `Retry-After` and a hedge's timer are told. An idle victim's reload is someone else's wait;
        /// counted here, it made a cold start refuse a request predicted at 27 s whose load took 6.
        public var waitSeconds: Double

        public init(
            nodeIndex: Int, seconds: Double, claim: SlotClaim, startsNow: Bool, evicting: [ModelName] = [], waitSeconds: Double? = nil,
            unloads: [ModelName]? = nil
        ) {
            self.nodeIndex = nodeIndex
            self.seconds = seconds
            self.claim = claim
            self.startsNow = startsNow
            self.evicting = evicting
            self.unloads = unloads ?? evicting
            self.waitSeconds = waitSeconds ?? seconds
        }

        public var isColdLoad: Bool {
            if case .coldLoad = claim { return true }
            return false
        }
    }

    public func predictedLoadSeconds(_ model: ModelName, on node: NodeSnapshot) -> Double {
        predictedLoadSeconds(gigabytes: Double(node.pulled[model]?.sizeBytes ?? 0) / 1e9, learnedSecondsPerGB: node.learnedLoadSecondsPerGB)
    }

    /// A load of `gigabytes` at the node's learned rate, or the default until a load there was timed.
    public func predictedLoadSeconds(gigabytes: Double, learnedSecondsPerGB: Double?) -> Double {
        Self.loadBaseSeconds + gigabytes * (learnedSecondsPerGB ?? defaultLoadSecondsPerGB)
    }

    /// - Parameters:
    ///   - demand: recent requests per second for a model across the farm.
    ///   - farmServiceSeconds: the model's service time learned on other nodes, if this one has none.
    ///   - queueWait: how long a request would wait for any warm slot of the model across the farm,
    ///     counting the requests already queued for it; a node with no free slot cannot do better.
    ///   - warmCopies: healthy nodes holding a model warm, which share its demand (see `evictionCost`).
    ///   - farmFirstTokenSeconds: the model's first-token time from a warm slot, learned on other nodes.
    ///   - sparing: models a cold load unloads only when nothing else makes room (see
    ///     `AffinityPlacement.lastCopiesToSpare`).
    public func estimate(
        _ model: ModelName, on node: NodeSnapshot, now: Double, demand: (ModelName) -> Double, farmServiceSeconds: Double?,
        farmFirstTokenSeconds: Double? = nil, queueWait: Double = 0, warmCopies: (ModelName) -> Int = { _ in 1 },
        sparing: Set<ModelName> = []
    ) -> Estimate {
        let slots = node.maxParallel
        let count = node.inFlight(model)
        let capacity = max(Double(node.weight), 1) / 100
        let service = node.serviceSeconds[model] ?? farmServiceSeconds ?? defaultServiceSeconds
        let slotWait = count < slots ? 0 : max(queueWait, Double(count - slots + 1) * service / Double(slots) / capacity)
        // Once a slot is taken, the node's own speed: a free slot on a node that throttles is not as
        // good as one elsewhere. Ranked on, not waited for (`waitSeconds` leaves it out).
        let firstToken = node.firstTokenSeconds[model] ?? farmFirstTokenSeconds ?? 0

        if let resident = node.loaded[model] {
            let spill = resident.vramBytes < resident.sizeBytes ? spillPenaltySeconds / 4 : 0
            return Estimate(
                nodeIndex: node.index, seconds: slotWait + spill + firstToken, claim: .warmSlot, startsNow: count < slots,
                waitSeconds: slotWait + spill)
        }
        if let load = node.loading[model] {
            // The requests holding the loading copy's slots start when the load ends; `queueWait`
            // counts from now and already includes the load.
            let behindLoad = load.remaining(at: now) + (count < slots ? 0 : Double(count - slots + 1) * service / Double(slots) / capacity)
            let wait = count < slots ? behindLoad : max(queueWait, behindLoad)
            return Estimate(
                nodeIndex: node.index, seconds: wait + firstToken, claim: .joinLoad, startsNow: count < slots, waitSeconds: wait)
        }
        // Ollama loads one model at a time per node: other loads under way come first.
        let loadsAhead = node.loading.values.reduce(0) { $0 + $1.remaining(at: now) }
        let load = predictedLoadSeconds(model, on: node)
        if node.awaitsComeback(model) {
            // A planned load brings the model back here once its draining copy is gone and the load
            // is done: the request queues until that comeback is claimed, then joins it.
            let wait = loadsAhead + load
            return Estimate(nodeIndex: node.index, seconds: wait + firstToken, claim: .joinLoad, startsNow: false, waitSeconds: wait)
        }
        var seconds = load + loadsAhead
        var startsNow = true
        var penalties = 0.0
        let size = node.runnerBytes(model)
        let priced = pricedVictims(for: model, on: node, now: now, demand: demand, warmCopies: warmCopies, sparing: sparing)
        let victims = priced.map(\.model)
        for (victim, loss) in priced {
            if node.inFlight(victim) > 0 {
                // Ollama would hold every load on the node until the victim's requests finish: wait for
                // that here instead. A busy model may stay busy, so count several of its requests.
                seconds += busyVictimServiceCount * serviceSeconds(victim, on: node)
                startsNow = false
            }
            // A busy victim is lost as surely as an idle one once its requests end. Priced by its wait
            // alone, one of three copies of the farm's busiest model (2.3 requests/s, three of its answers
            // about 4 s) looked cheaper to unload than the idle only copy of a model asked for every few
            // seconds (its reload, 6 s), and a rare model's request waited to unload it.
            penalties += loss
        }
        // Loads under way and copies draining for them hold places no unload here frees. With the cap
        // reached by them the load waits: claimed now, the node refuses it, and the request looked
        // again at once, round after round, at full CPU until the drain ended.
        if startsNow, node.placesTaken - victims.count >= node.maxLoadedModels {
            startsNow = false
        }
        if startsNow, node.vramBudgetBytes == nil, !node.loading.isEmpty {
            // VRAM unknown and a load under way: past what the node held, wait for it (the node's claim check agrees).
            let busy = node.loaded.filter { node.inFlight($0.key) > 0 }.values
            let used = node.loading.keys.reduce(busy.reduce(size) { $0 + $1.vramBytes }) { $0 + node.runnerBytes($1) }
            if OllamaNode.stacksBlindly(used: used, loading: node.loading.count, busy: busy.count, limits: node.observedLimits) {
                startsNow = false
            }
        }
        if let vram = node.config.vramGB, Double(size) > vram * 1e9 { penalties += spillPenaltySeconds }
        return Estimate(
            nodeIndex: node.index, seconds: seconds + penalties + firstToken, claim: .coldLoad(predictedSeconds: load),
            startsNow: startsNow, evicting: startsNow ? victims : [], waitSeconds: seconds, unloads: victims)
    }

    /// How long the node holds a slot for one of `model`'s requests, as measured there (else the default).
    func serviceSeconds(_ model: ModelName, on node: NodeSnapshot) -> Double {
        node.serviceSeconds[model] ?? defaultServiceSeconds
    }

    /// What unloading `victim` from `node` (once its requests end, if it is busy) is expected to cost
    /// later, in seconds of waiting:
    /// its reload if it is asked for again within the horizon, and more for a copy loaded only
    /// recently (it was loaded because it was wanted; swapping it straight back out is thrashing).
    /// A model warm on `warmCopies` nodes in all shares its demand among them (this copy sees its
    /// share), and keeps serving from the others, so one copy of several also costs that share of a
    /// reload: at a cold start, with every node full of young models, a first request for the largest
    /// model unloaded `llama3.1:8b`'s only copy rather than one of `llama3.2:3b`'s three, and the next
    /// `llama3.1:8b` request was refused (predicted 27 s).
    ///
    /// The last copy also keeps the requests that come while it reloads waiting, half the load each on
    /// average. Priced by the first request's reload alone, `phi3:mini`'s only live copy (0.8
    /// requests/s, a 4.3 s load) looked cheaper to unload than one of `gemma2:2b`'s two copies (0.4/s):
    /// a retry off a node that had just stopped cold-loaded its model in `phi3:mini`'s place, and
    /// `phi3:mini`'s requests waited for its reload, which unloaded `gemma2:2b` anyway (the outage
    /// minute at 50 % load, p95 3.4 s).
    ///
    /// One copy of several also leaves the model fewer slots: the waiting its other copies add over
    /// the horizon (as the capacity planner counts it) is part of the cost. Without it, one request
    /// for a model asked for every few seconds unloaded one of three copies of the farm's busiest
    /// model (2.1 requests/s), priced at a third of a reload, and that model queued for a minute.
    ///
    /// A copy the planner's target releases (`NodeSnapshot.releasedByTarget`) costs nothing: the
    /// planner unloads it anyway once a step is worth it, and its model keeps the copies the target wants.
    func evictionCost(
        _ victim: ModelName, on node: NodeSnapshot, now: Double, demand: (ModelName) -> Double, warmCopies: (ModelName) -> Int
    ) -> Double {
        if node.releasedByTarget.contains(victim) { return 0 }
        let warm = max(1, warmCopies(victim))
        let copies = Double(warm)
        let rate = demand(victim)
        let likelyNeeded = 1 - exp(-rate / copies * demandHorizonSeconds)
        let fresh = now - (node.loadedAt[victim] ?? -.infinity) < recentLoadSeconds
        let load = predictedLoadSeconds(victim, on: node)
        let reload = likelyNeeded * load * (fresh ? 2 : 1) / copies
        guard warm > 1, rate > 0 else { return reload + rate * load * load / 2 }
        var settings = CapacityPlanner.Settings()
        settings.horizonSeconds = demandHorizonSeconds
        let wanted = CapacityPlanner.Demand(rate: rate, serviceSeconds: serviceSeconds(victim, on: node))
        return reload
            + CapacityPlanner.waitingAdded(byLosingOneOf: warm, slotsPerCopy: node.maxParallel, demand: wanted, settings: settings)
    }

    /// The models to unload on `node` so that `model` fits its VRAM and its loaded-model cap:
    /// idle ones before busy ones, and among the idle ones those whose loss costs least. TensorWall
    /// unloads exactly these before the load, so Ollama does not pick victims by its own rule
    /// (shortest keep-alive, then arbitrary), which can drop the copy of a model in demand.
    public func cheapestVictims(
        for model: ModelName, on node: NodeSnapshot, now: Double, demand: (ModelName) -> Double,
        warmCopies: (ModelName) -> Int = { _ in 1 }
    ) -> [ModelName] {
        pricedVictims(for: model, on: node, now: now, demand: demand, warmCopies: warmCopies).map(\.model)
    }

    /// `cheapestVictims` with each victim's `evictionCost`, worked out once to rank them: what a cold
    /// load's price adds for them.
    /// - Parameter releasedFirst: copies the target releases go before all others, busy or not (for a
    ///   load that drains its victims); otherwise idle ones go first.
    /// - Parameter sparing: models that go only after all others, busy or not.
    func pricedVictims(
        for model: ModelName, on node: NodeSnapshot, now: Double, demand: (ModelName) -> Double,
        warmCopies: (ModelName) -> Int = { _ in 1 }, releasedFirst: Bool = false, sparing: Set<ModelName> = []
    ) -> [(model: ModelName, cost: Double)] {
        let size = node.runnerBytes(model)
        // Copies draining for a planned load stay until it starts: they are nobody's to unload.
        var count = node.placesTaken
        var used: Int64 = node.vramUsedBytes
        for loading in node.loading.keys { used += node.runnerBytes(loading) }
        let budget = node.vramFit
        struct Candidate {
            let model: ModelName
            let busy: Bool
            let cost: Double
        }
        var order: [Candidate] = []
        for victim in node.loaded.keys {
            order.append(
                Candidate(
                    model: victim, busy: node.inFlight(victim) > 0,
                    cost: evictionCost(victim, on: node, now: now, demand: demand, warmCopies: warmCopies)))
        }
        order.sort { a, b in
            if releasedFirst {
                let releasedA = node.releasedByTarget.contains(a.model)
                if releasedA != node.releasedByTarget.contains(b.model) { return releasedA }
            }
            let sparedA = sparing.contains(a.model)
            if sparedA != sparing.contains(b.model) { return !sparedA }
            if a.busy != b.busy { return !a.busy }
            return a.cost != b.cost ? a.cost < b.cost : a.model < b.model
        }
        func fits(_ count: Int, _ used: Int64) -> Bool {
            count < node.maxLoadedModels && (budget?.admits(size, beside: used) ?? true)
        }
        func bytes(_ model: ModelName) -> Int64 { node.loaded[model]?.vramBytes ?? 0 }
        var victims: [Candidate] = []
        for candidate in order where !fits(count, used) {
            victims.append(candidate)
            count -= 1
            used -= bytes(candidate.model)
        }
        guard fits(count, used) else { return victims.map { ($0.model, $0.cost) } }
        let dearestFirst = victims.sorted { $0.busy != $1.busy ? $0.busy : $0.cost > $1.cost }
        let unneeded = VictimPruning.unneeded(dearestFirst.map(\.model), count: count, used: used, bytes: bytes, fits: fits)
        return victims.filter { !unneeded.contains($0.model) }.map { ($0.model, $0.cost) }
    }

    /// The models Ollama would unload to make room for `size` bytes: idle ones first, least
    /// recently used first, then busy ones, until the loaded-model cap and the VRAM budget hold.
    static func evictionVictims(
        for size: Int64, loaded: [ModelName: LoadedModel], loadingSizes: [Int64], inFlight: [ModelName: Int],
        lastUsed: [ModelName: Double], maxLoadedModels: Int, fit budget: VRAMFit?
    ) -> [ModelName] {
        var count = loaded.count + loadingSizes.count
        var used = loaded.values.reduce(Int64(0)) { $0 + $1.vramBytes } + loadingSizes.reduce(0, +)
        let order = loaded.keys.sorted { a, b in
            let busyA = (inFlight[a] ?? 0) > 0
            let busyB = (inFlight[b] ?? 0) > 0
            if busyA != busyB { return !busyA }
            let usedA = lastUsed[a] ?? -.infinity
            let usedB = lastUsed[b] ?? -.infinity
            return usedA != usedB ? usedA < usedB : a < b
        }
        var victims: [ModelName] = []
        for candidate in order {
            let overCount = count >= maxLoadedModels
            let overBudget = budget.map { !$0.admits(size, beside: used) } ?? false
            guard overCount || overBudget else { break }
            victims.append(candidate)
            count -= 1
            used -= loaded[candidate]?.vramBytes ?? 0
        }
        return victims
    }
}
