import Synchronization

/// Which node a request takes, and how long it would wait there: the placement decision and the
/// predicted wait that decides whether a request is refused, apart from the queueing loop that uses them.
extension Cluster {
    /// How long a request that must wait is expected to: the best estimate, except that a cold load
    /// which cannot start yet (only busy models could make room for it) is a hope, not a plan; the
    /// wait for a warm slot behind the model's queue is what the request can count on then.
    func predictedWait(
        _ estimate: CostModel.Estimate, model: ModelName, snapshots: [NodeSnapshot], excluding: Set<Int>, queuedAhead: Int, now: Double
    ) -> Double {
        guard estimate.isColdLoad, case .success(let tier) = AffinityPlacement.candidateTier(model, among: snapshots, excluding: excluding)
        else { return estimate.waitSeconds }
        let service = meanServiceSeconds(model, snapshots: snapshots)
        let warm = AffinityPlacement.queueWaitSeconds(model, tier: tier, queuedAhead: queuedAhead, service: service, now: now)
        if warm.isFinite { return max(estimate.waitSeconds, warm) }
        guard !estimate.startsNow else { return estimate.waitSeconds }
        if let load = drainingLoad(model, snapshots: snapshots, excluding: excluding, now: now) {
            // The head of the queue drains its way in; the requests queued ahead are then served
            // first, by the new copy's slots.
            let slots = snapshots[load.nodeIndex].maxParallel
            return load.waitSeconds + Double(queuedAhead) * service / Double(max(1, slots))
        }
        return estimate.waitSeconds + victimsBacklogSeconds(for: model, on: snapshots[estimate.nodeIndex], snapshots: snapshots, now: now)
    }

    /// The model's service time averaged over the nodes that measured it, else the cost model's default.
    func meanServiceSeconds(_ model: ModelName, snapshots: [NodeSnapshot]) -> Double {
        serviceSeconds(model, snapshots: snapshots, hint: nil)
    }

    /// With no warm copy but a load under way elsewhere, a request's own load waits for the busy
    /// models it must unload, and TensorWall keeps sending those models their queued requests: none
    /// is idle before its own queue here has drained. At 300 % load the planner unloaded the only copy
    /// of qwen2.5, and its requests queued for such a load, predicted at 19 s against busy models with
    /// dozens queued, until the 30 s limit answered them 503.
    func victimsBacklogSeconds(for model: ModelName, on node: NodeSnapshot, snapshots: [NodeSnapshot], now: Double) -> Double {
        let victims = costModel.cheapestVictims(for: model, on: node, now: now, demand: { _ in 0 })
        return victims.filter { node.inFlight($0) > 0 }.map { victim in
            let slots = AffinityPlacement.warmSlots(victim, on: snapshots)
            let service = costModel.serviceSeconds(victim, on: node)
            return Double(queues.count(victim)) * service / Double(max(1, slots))
        }.max() ?? 0
    }

    /// One affinity decision; its tie-breaks draw from a generator seeded by the shared one, so the
    /// lock is held for one draw rather than for the whole decision.
    func choose(
        _ model: ModelName, _ snapshots: [NodeSnapshot], excluding: Set<Int>, conversationNode: Int?, now: Double, queuedAhead: Int
    ) -> Result<CostModel.Estimate, PlacementFailure> {
        // Read only once a cold load is priced: a free warm slot prices none. How long demand has been
        // measured is read (under the demand lock) only for a model with no copy.
        lazy var rates = loadedModelRates(snapshots, now: now)
        var local = FastRandom(seed: random.withLock { $0.next() })
        return AffinityPlacement.choose(
            model, among: snapshots, excluding: excluding, conversationNode: conversationNode, now: now, costModel: costModel,
            demand: { rates[$0] ?? 0 }, demandMeasuredSeconds: demand.withLock { $0.measuredSeconds(now: now) }, queuedAhead: queuedAhead,
            using: &local)
    }

    /// The choice that starts the request soonest (see `AffinityPlacement.soonest`).
    func soonest(_ model: ModelName, _ snapshots: [NodeSnapshot], excluding: Set<Int>, now: Double, queuedAhead: Int)
        -> CostModel.Estimate?
    {
        lazy var rates = loadedModelRates(snapshots, now: now)
        return AffinityPlacement.soonest(
            model, among: snapshots, excluding: excluding, now: now, costModel: costModel, demand: { rates[$0] ?? 0 },
            queuedAhead: queuedAhead)
    }

    /// Placement weighs the demand of loaded models only (what a load would evict): read those under
    /// the lock rather than copying the tracker, whose arrival lists a concurrent request would then
    /// have to copy whole before recording.
    func loadedModelRates(_ snapshots: [NodeSnapshot], now: Double) -> [ModelName: Double] {
        demand.withLock { tracker in
            var rates: [ModelName: Double] = [:]
            for snapshot in snapshots {
                for model in snapshot.loaded.keys where rates[model] == nil { rates[model] = tracker.rate(model, now: now) }
            }
            return rates
        }
    }
}
