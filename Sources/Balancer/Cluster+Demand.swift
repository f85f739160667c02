import Synchronization

/// What the farm is asked for: each model's arrival rate, its service time and its queue, as the
/// capacity planner reads them and as a restart carries them over.
extension Cluster {
    /// Recent requests per second for `model` across the farm (exponentially decayed).
    public func demandRate(_ model: ModelName) -> Double {
        let now = clock()
        let model = runnerModel(model)
        return demand.withLock { $0.rate(model, now: now) }
    }

    /// Each model's demand as the capacity planner reads it: the decayed arrival rate, the service
    /// time learned across the nodes, and the queue right now. A model not measured yet takes the
    /// time saved from an earlier run, else the median of the models this farm has measured: the
    /// cost model's fixed default (5 s) made a model whose first answer had not come back look four
    /// times busier than its neighbours on a fast farm, and the planner gave it copies they needed.
    /// On a farm whose nodes answer at different paces (`NodePaces`), a measured model's time is
    /// its time on a typical node: a throttled node no longer makes the models it holds look busier,
    /// and the planner counts a copy there as the part of a copy it serves. `paces` is their fit, when
    /// the caller already has it for the plan.
    public func demandSummary(_ snapshots: [NodeSnapshot], paces: NodePaces? = nil) -> [ModelName: CapacityPlanner.Demand] {
        let now = clock()
        let rates = demand.withLock { $0.ratesWithCaution(now: now) }
        let queued = queues.counts()
        let hints = serviceHints.withLock { $0 }
        let farmMedian = Self.median(snapshots.flatMap { $0.serviceSeconds.values })
        let paces = paces ?? NodePaces(snapshots)
        var summary: [ModelName: CapacityPlanner.Demand] = [:]
        for model in Set(rates.keys).union(queued.keys) {
            var service = serviceSeconds(model, snapshots: snapshots, hint: hints[model] ?? farmMedian)
            if !paces.isUniform, let typical = paces.typicalServiceSeconds(model) { service = typical }
            let rate = rates[model]?.rate ?? 0
            let calmer = rates[model].flatMap { $0.cautious < rate ? $0.cautious : nil }
            summary[model] = CapacityPlanner.Demand(rate: rate, serviceSeconds: service, queued: queued[model] ?? 0, cautiousRate: calmer)
        }
        return summary
    }

    /// `model`'s service time averaged over the nodes that measured it, else `hint`, else the cost
    /// model's default.
    func serviceSeconds(_ model: ModelName, snapshots: [NodeSnapshot], hint: Double?) -> Double {
        let measured = snapshots.compactMap { $0.serviceSeconds[model] }
        guard measured.isEmpty else { return measured.reduce(0, +) / Double(measured.count) }
        return hint ?? costModel.defaultServiceSeconds
    }

    /// `serviceSeconds` with the hint `demandSummary` uses: the time saved from an earlier run, else
    /// the median of the models this farm has measured.
    func serviceSecondsOrFarmHint(_ model: ModelName, snapshots: [NodeSnapshot]) -> Double {
        let hint = serviceHints.withLock { $0[model] } ?? Self.median(snapshots.flatMap { $0.serviceSeconds.values })
        return serviceSeconds(model, snapshots: snapshots, hint: hint)
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Demand worth remembering across a restart: each model's rate and learned service time.
    public func demandState() async -> [ModelName: (rate: Double, serviceSeconds: Double)] {
        let summary = demandSummary(await snapshots())
        return summary.mapValues { ($0.rate, $0.serviceSeconds) }
    }

    /// Starts from demand an earlier run saw, `age` seconds ago: the rates decay as if TensorWall had
    /// kept running without requests, and the service times stand until nodes measure their own.
    public func seedDemand(_ state: [ModelName: (rate: Double, serviceSeconds: Double)], age: Double) {
        let now = clock()
        demand.withLock { tracker in
            for (model, entry) in state { tracker.seed(model, rate: entry.rate, age: age, now: now) }
        }
        serviceHints.withLock { hints in for (model, entry) in state { hints[model] = entry.serviceSeconds } }
    }
}
