/// Decides where an extra copy of a model in demand should be loaded before requests need it.
/// Placement alone only loads a model when a request cannot wait for a warm slot, so a hot
/// model served by one node makes its bursts queue there while VRAM elsewhere sits idle. The
/// planner fills idle VRAM with copies of the models clients ask for, and, when a model's warm
/// slots are busy or its queue is not empty, evicts an idle model nobody is asking for to make room.
/// Loads it plans run in the background: no request waits for them.
public enum ReplicaPlanner {
    public struct Plan: Sendable, Equatable {
        public var model: ModelName
        public var nodeIndex: Int
        public var predictedLoadSeconds: Double
    }

    /// Share of a model's warm slots in use (demand × service time / slots) above which a copy may evict an idle model.
    public static let busyUtilisation = 0.5
    /// Below this a model is not asked for often enough to be worth a copy, even in free VRAM.
    public static let minimumUtilisation = 0.05

    /// - Parameters:
    ///   - demand: recent requests per second for a model across the farm.
    ///   - queued: requests waiting in TensorWall's queue for a model.
    public static func plan(
        nodes: [NodeSnapshot], now: Double, costModel: CostModel, demand: (ModelName) -> Double, queued: (ModelName) -> Int
    ) -> [Plan] {
        let resident = Set(nodes.filter { $0.health == .healthy }.flatMap { Array($0.loaded.keys) + Array($0.loading.keys) })
        var busyNodes = Set(nodes.filter { !$0.loading.isEmpty }.map(\.index))  // Ollama loads one model at a time
        var plans: [Plan] = []
        let copies = AffinityPlacement.warmCopies(nodes)
        for model in resident.sorted(by: { demand($0) > demand($1) }) {
            guard case .success(let tier) = AffinityPlacement.candidateTier(model, among: nodes, excluding: []) else { continue }
            let holders = tier.filter { $0.isLoaded(model) || $0.isLoading(model) }
            // One copy at a time: a load under way already adds capacity.
            guard !holders.isEmpty, !holders.contains(where: { $0.isLoading(model) }) else { continue }
            let measured = holders.compactMap { $0.serviceSeconds[model] }
            let service = measured.isEmpty ? costModel.defaultServiceSeconds : measured.reduce(0, +) / Double(measured.count)
            let slots = holders.reduce(0) { $0 + $1.maxParallel }
            let utilisation = demand(model) * service / Double(max(1, slots))
            guard utilisation >= minimumUtilisation || queued(model) > 0 else { continue }
            let mayEvict = utilisation >= busyUtilisation || queued(model) > 0
            var best: (estimate: CostModel.Estimate, load: Double)?
            // Only where VRAM is known (`vramGB`): elsewhere Ollama might make the copy wait for room and hold up real loads.
            for node in tier where node.config.vramGB != nil && !node.isLoaded(model) && !busyNodes.contains(node.index) {
                let estimate = costModel.estimate(
                    model, on: node, now: now, demand: { AffinityPlacement.demandPerCopy($0, copies, demand) }, farmServiceSeconds: service)
                let load = costModel.predictedLoadSeconds(model, on: node)
                guard estimate.startsNow else { continue }
                let victims = CostModel.evictionVictims(
                    for: node.pulled[model]?.sizeBytes ?? 0, loaded: node.loaded, loadingSizes: [], inFlight: node.inFlight,
                    lastUsed: node.lastUsed, config: node.config)
                // Free VRAM costs nothing; an eviction only of models unlikely to be wanted soon, and only under pressure.
                guard victims.isEmpty || (mayEvict && estimate.seconds - load <= load / 2) else { continue }
                if best == nil || estimate.seconds < best!.estimate.seconds { best = (estimate, load) }
            }
            if let best {
                plans.append(Plan(model: model, nodeIndex: best.estimate.nodeIndex, predictedLoadSeconds: best.load))
                busyNodes.insert(best.estimate.nodeIndex)
            }
        }
        return plans
    }
}
