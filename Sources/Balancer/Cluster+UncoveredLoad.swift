/// A way back in for a model that has lost every copy while the farm is busy.
extension Cluster {
    /// A cold load of a model with no copy anywhere that drains the busy models it unloads.
    struct DrainingLoad {
        var nodeIndex: Int
        var evicting: [ModelName]
        /// Until the load is done: the loads ahead on the node, the victims' running requests, the load.
        var waitSeconds: Double
        /// The wait and the waiting its victims' loss adds later, as a cold load is priced (`CostModel.estimate`).
        var price: Double
    }

    /// The cold load of `model`, when no node holds it warm or loading, that unloads only idle models
    /// and busy models with a warm copy on another node, and costs least: its wait and its victims'
    /// loss, as `CostModel.estimate` prices a cold load. A cold load that unloads busy
    /// models waits for them to go idle, and under load they never do: TensorWall keeps sending them
    /// requests. At 125 % load `qwen2.5:7b` lost both copies in one second (a request's cold load and
    /// a planned load), its queue grew to 32 behind a load predicted at 8 s, and 25 of its requests
    /// waited the whole 30 s and were answered 503 before the planner found room 42 s later. Drained,
    /// the victims take no new request and the load starts once their running requests end. Which
    /// busy models may be drained: `mayDrain`, and any copy the planner's target releases
    /// (`NodeSnapshot.releasedByTarget`), which go first.
    func drainingLoad(_ model: ModelName, snapshots: [NodeSnapshot], excluding: Set<Int>, now: Double) -> DrainingLoad? {
        guard Self.hasNoCopy(model, on: snapshots),
            case .success(let tier) = AffinityPlacement.candidateTier(model, among: snapshots, excluding: excluding)
        else { return nil }
        let rates = loadedModelRates(snapshots, now: now)
        let copies = AffinityPlacement.warmCopies(snapshots)
        let waiting = max(1, queues.count(model))
        var best: DrainingLoad?
        for node in tier {
            let priced = costModel.pricedVictims(
                for: model, on: node, now: now, demand: { rates[$0] ?? 0 }, warmCopies: { copies[$0] ?? 1 }, releasedFirst: true)
            let victims = priced.map(\.model)
            let busy = victims.filter { node.inFlight($0) > 0 }
            guard !busy.isEmpty,
                busy.allSatisfy({ victim in
                    node.releasedByTarget.contains(victim)
                        || mayDrain(
                            victim, for: waiting, copies: copies[victim] ?? 1, slotsPerCopy: node.maxParallel,
                            demand: CapacityPlanner.Demand(
                                rate: rates[victim] ?? 0, serviceSeconds: costModel.serviceSeconds(victim, on: node)))
                })
            else { continue }
            let drain = busy.map { costModel.serviceSeconds($0, on: node) }.max() ?? 0
            let loadsAhead = node.loading.values.reduce(0) { $0 + $1.remaining(at: now) }
            let wait = loadsAhead + drain + costModel.predictedLoadSeconds(model, on: node)
            // Ranked like any cold load: the wait, and the waiting its victims' loss adds later.
            let loss = priced.reduce(0) { $0 + $1.cost }
            if wait + loss < best?.price ?? .infinity {
                best = DrainingLoad(nodeIndex: node.index, evicting: victims, waitSeconds: wait, price: wait + loss)
            }
        }
        return best
    }

    /// Whether a busy `victim` warm on `copies` nodes may be drained for a model with `waiting`
    /// requests queued and no copy: only if it keeps a copy elsewhere (its queue would be stranded
    /// otherwise) and its own queue, spread over the slots it keeps, is no longer than the waiting
    /// model's. Drained for the first request of a rare model, the second hottest model's second copy
    /// left its p95 at 7.0 s for 20 s at 125 % load (1.9 s without the drain); a queue that keeps
    /// growing for a model with no copy outweighs a busy one's in a few seconds.
    ///
    /// Nor may the copy's loss add more waiting for `victim` over the planner's horizon (at its
    /// `demand`, as the planner prices a copy) than the waiting requests could wait in all (each up to
    /// the queue's maximum wait). An empty queue is no sign of spare copies: after a shift at 75 %
    /// load one request for `llama3.1:8b`, whose copy a chain of cold loads had just unloaded, drained
    /// one of three copies of `codellama:13b` (2.3 requests/s, none queued), whose p95 was 1.8 s for
    /// the next minute, with 61 of its 139 requests over 0.39 s.
    func mayDrain(_ victim: ModelName, for waiting: Int, copies: Int, slotsPerCopy: Int, demand: CapacityPlanner.Demand) -> Bool {
        guard copies > 1, Double(queues.count(victim)) / Double((copies - 1) * max(1, slotsPerCopy)) <= Double(waiting) else {
            return false
        }
        let lost = CapacityPlanner.waitingAdded(
            byLosingOneOf: copies, slotsPerCopy: slotsPerCopy, demand: demand, settings: plannerSettings)
        return lost <= Double(waiting) * Double(queueSettings.maxWaitMs) / 1000
    }

    /// Claims `drainingLoad`'s load for the head of the model's queue. Nil when there is none or the
    /// node no longer accepts the claim (the round looks again).
    func claimDrainingLoad(_ model: ModelName, snapshots: [NodeSnapshot], excluding: Set<Int>, now: Double) async -> Lease? {
        guard let load = drainingLoad(model, snapshots: snapshots, excluding: excluding, now: now) else { return nil }
        return await claim(load, model, snapshots: snapshots)
    }

    /// For a model with no copy, a load that drains busy spare copies when it costs less than `coldLoad`,
    /// a load that starts now by unloading idle copies of which one is another model's last: that
    /// model's next request cold-loads it in turn. With a node out at 75 % load, idle last copies went
    /// first whatever they cost, and seven cold loads in 12 s each unloaded the last copy the next one
    /// came for, while the planner's target had released `phi3:mini`'s second copy: a released copy
    /// costs nothing to unload (`CostModel.evictionCost`) and may be drained (`drainingLoad`), so such a
    /// load now takes its place. Nil when no such load is cheaper, or its claim fails.
    func claimDrainingLoad(
        _ model: ModelName, cheaperThan coldLoad: CostModel.Estimate, snapshots: [NodeSnapshot], excluding: Set<Int>, now: Double
    ) async -> Lease? {
        guard coldLoad.isColdLoad, Self.hasNoCopy(model, on: snapshots) else { return nil }
        let copies = AffinityPlacement.warmCopies(snapshots)
        guard coldLoad.evicting.contains(where: { (copies[$0] ?? 0) <= 1 }),
            let load = drainingLoad(model, snapshots: snapshots, excluding: excluding, now: now), load.price < coldLoad.seconds
        else { return nil }
        return await claim(load, model, snapshots: snapshots)
    }

    private func claim(_ load: DrainingLoad, _ model: ModelName, snapshots: [NodeSnapshot]) async -> Lease? {
        let snapshot = snapshots[load.nodeIndex]
        guard var lease = await claimPlannedLoad(model, on: snapshot, evicting: load.evicting) else { return nil }
        lease.expectedStartSeconds = load.waitSeconds
        lease.expectedServiceSeconds = snapshot.serviceSeconds[model]
        return lease
    }

    /// Whether no node in service holds `model` warm or loading, nor brings it back once a copy has
    /// drained. A copy on a node that has gone does not count: counted, the models a hung node held
    /// never drained their way in, and their requests cold-loaded in place of idle last copies.
    static func hasNoCopy(_ model: ModelName, on snapshots: [NodeSnapshot]) -> Bool {
        !snapshots.contains { $0.health.isInService && $0.hasCopy(model) }
    }
}
