/// Why no node could take a request.
public enum PlacementFailure: Error, Equatable, Sendable {
    /// No node has the model pulled (and none is still unprobed).
    case modelNotFound
    /// Nodes have the model but none of them is healthy right now.
    case noHealthyNode
    /// Every candidate is saturated and the wait queue for the model is full. `basis` is nil for a
    /// hedge turned away (nobody is refused: the first attempt goes on).
    case queueFull(retryAfterSeconds: Int, basis: RefusalBasis?)
    /// The predicted wait for a slot is longer than the queue's maximum wait: refused at once
    /// rather than left to wait in vain. `retryAfterSeconds` is when the wait should be bearable again.
    case overloaded(predictedWaitSeconds: Int, retryAfterSeconds: Int, basis: RefusalBasis)
    /// The request waited in the queue longer than allowed.
    case queueTimeout
}

/// The `affinity` strategy: `priority` as tiers (a lower tier only when the one above has no
/// healthy candidate), and within a tier the node with the smallest predicted time to first
/// token. A conversation's earlier node is kept while it can serve about as fast, so Ollama's
/// prompt cache is reused. Near-ties are split at random by `weight`, scaled down by what each node is already running.
public enum AffinityPlacement {
    /// Predictions within this much of the best are treated as equal.
    static let toleranceSeconds = 0.05
    /// A model asked for at least once in this long keeps its only copy when another model expands.
    static let protectionHorizonSeconds = 60.0
    /// How much slower a conversation's previous node may be and still be kept.
    static let conversationAllowanceSeconds = 0.5

    /// - Parameter queuedAhead: requests already waiting in TensorWall's queue for the model ahead
    ///   of this one; they will take the next warm slots first.
    public static func choose(
        _ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int> = [], conversationNode: Int? = nil, now: Double,
        costModel: CostModel = CostModel(), demand: (ModelName) -> Double = { _ in 0 },
        demandMeasuredSeconds: @autoclosure () -> Double = .infinity, queuedAhead: Int = 0, pricingEveryNode: Bool = false,
        using random: inout some RandomNumberGenerator
    ) -> Result<CostModel.Estimate, PlacementFailure> {
        let tier: [NodeSnapshot]
        let estimates: [CostModel.Estimate]
        switch candidateEstimates(
            model, among: nodes, excluding: excluding, now: now, costModel: costModel, demand: demand,
            demandMeasuredSeconds: demandMeasuredSeconds(), queuedAhead: queuedAhead, pricingEveryNode: pricingEveryNode)
        {
        case .failure(let failure): return .failure(failure)
        case .success(let found): (tier, estimates) = found
        }
        let best = estimates.map(\.seconds).min()!
        if let conversationNode, let previous = estimates.first(where: { $0.nodeIndex == conversationNode }),
            previous.claim == .warmSlot || previous.claim == .joinLoad,
            previous.startsNow, previous.seconds <= best + conversationAllowanceSeconds
        {
            return .success(previous)
        }
        var near = estimates.filter { $0.seconds <= best + max(toleranceSeconds, best * 0.1) }
        // A cold load also costs the node its VRAM and the models it evicts: in a near-tie, never start one
        // when a warm slot or a load already under way is about as quick.
        if near.contains(where: { !$0.isColdLoad }) { near.removeAll { $0.isColdLoad } }
        let weights = near.map { estimate in busyScaledWeight(tier.first { $0.index == estimate.nodeIndex }!) }
        return .success(near[pickWeighted(weights, using: &random)])
    }

    /// The choice that gives this request its first token soonest, whatever it costs the models it
    /// unloads: for a request that would otherwise be refused. `choose` ranks by what a choice costs
    /// everyone, so its pick may wait behind busy models while another node could make room at once.
    public static func soonest(
        _ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int> = [], now: Double, costModel: CostModel = CostModel(),
        demand: (ModelName) -> Double = { _ in 0 }, queuedAhead: Int = 0, pricingEveryNode: Bool = false
    ) -> CostModel.Estimate? {
        guard
            case .success(let found) = candidateEstimates(
                model, among: nodes, excluding: excluding, now: now, costModel: costModel, demand: demand, queuedAhead: queuedAhead,
                pricingEveryNode: pricingEveryNode, sparingAskedForLastCopies: false)
        else { return nil }
        return found.estimates.min { a, b in a.waitSeconds != b.waitSeconds ? a.waitSeconds < b.waitSeconds : a.seconds < b.seconds }
    }

    /// The tier's nodes and what each predicts for the request, less the cold loads placement never
    /// starts (see below) and the cold loads that cannot win (see `coldLoadCutoff`); a failure when
    /// there is no candidate. `pricingEveryNode` prices them all, for the test that shows the choice
    /// is the same either way. `sparingAskedForLastCopies` keeps a model with no copy off the last
    /// copies of models asked for more (`lastCopiesToSpare`); `soonest` turns it off, since a refusal
    /// is for a farm that cannot serve: sparing them, two-node farms refused requests a hot model's
    /// place would have served in time. Nor does it spare any before `demand` has been measured for
    /// `sparingEvidenceSeconds` (`demandMeasuredSeconds`, read only when the model has no copy).
    static func candidateEstimates(
        _ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int>, now: Double, costModel: CostModel,
        demand: (ModelName) -> Double, demandMeasuredSeconds: @autoclosure () -> Double = .infinity, queuedAhead: Int,
        pricingEveryNode: Bool = false, sparingAskedForLastCopies: Bool = true
    ) -> Result<(tier: [NodeSnapshot], estimates: [CostModel.Estimate]), PlacementFailure> {
        let tier: [NodeSnapshot]
        switch candidateTier(model, among: nodes, excluding: excluding) {
        case .failure(let failure): return .failure(failure)
        case .success(let nodes): tier = nodes
        }
        let measured = nodes.compactMap { $0.serviceSeconds[model] }
        let farmService = measured.isEmpty ? nil : measured.reduce(0, +) / Double(measured.count)
        let firstTokens = nodes.compactMap { $0.firstTokenSeconds[model] }
        let farmFirstToken = firstTokens.isEmpty ? nil : firstTokens.reduce(0, +) / Double(firstTokens.count)
        // What a cold load's victims are worth; worked out only once a cold load is priced.
        lazy var copies = warmCopies(nodes)
        let queueWait = queueWaitSeconds(
            model, tier: tier, queuedAhead: queuedAhead, service: farmService ?? costModel.defaultServiceSeconds, now: now)
        let anyHolder = tier.contains { $0.hasCopy(model) }
        let sparesLastCopies = !anyHolder && sparingAskedForLastCopies && demandMeasuredSeconds() >= sparingEvidenceSeconds
        let sparing = sparesLastCopies ? lastCopiesToSpare(in: tier, copies: copies, demand: demand) : []
        func estimate(on node: NodeSnapshot) -> CostModel.Estimate {
            var estimate = costModel.estimate(
                model, on: node, now: now, demand: demand, farmServiceSeconds: farmService, farmFirstTokenSeconds: farmFirstToken,
                queueWait: queueWait, warmCopies: { copies[$0] ?? 1 }, sparing: sparing)
            // A price, not a wait: most suspects answer, and a hedge's timer or a refusal is told the wait.
            if node.health == .suspect { estimate.seconds += costModel.suspectNodeSeconds }
            return estimate
        }
        // The nodes holding the model are priced first; a cold load elsewhere is priced only if it can
        // beat them. In tier order, which the weighted tie-break draws by.
        let holderEstimates = tier.map { node in node.hasCopy(model) ? estimate(on: node) : nil }
        let cutoff = pricingEveryNode ? .infinity : coldLoadCutoff(holderEstimates.lazy.compactMap { $0 })
        var estimates = zip(tier, holderEstimates).compactMap { node, holderEstimate in
            holderEstimate ?? (costModel.predictedLoadSeconds(model, on: node) > cutoff ? nil : estimate(on: node))
        }
        // Adding a copy of a model that has one must not unload the only copy of a model still asked
        // for: that model would come back with a cold load that pushes out another, and so on.
        if anyHolder {
            estimates.removeAll { estimate in
                estimate.isColdLoad
                    && estimate.evicting.contains { (copies[$0] ?? 0) <= 1 && demand($0) * protectionHorizonSeconds >= 1 }
            }
            if estimates.isEmpty { return .failure(.noHealthyNode) }
        } else if !sparing.isEmpty {
            // A load that takes a spared copy stays only when no other load can be had.
            let takesSpared = { (estimate: CostModel.Estimate) in estimate.isColdLoad && !sparing.isDisjoint(with: estimate.unloads) }
            if estimates.contains(where: { !takesSpared($0) }) { estimates.removeAll(where: takesSpared) }
        }
        return .success((tier, estimates))
    }

    /// A model with no copy must take a place from another, and on a farm with fewer places than
    /// asked-for models that is some model's last copy. The last copies it should leave alone: those
    /// asked for clearly more than the least asked-for last copy in the tier (`lastCopyDemandTolerance`).
    /// Among the rest, cost decides. Ranked by cost alone, the hottest model's copy (a 4 s reload)
    /// looked cheaper to unload than a rare 13b model's (12 s): its next request unloaded another model's
    /// last copy, whose next request did the same, and on two nodes holding six of eight models at half
    /// load most requests waited for a cold load (p50 5 s). Sparing the hot models ends such a chain at
    /// once: the rarest models share the places left to them.
    static func lastCopiesToSpare(in tier: [NodeSnapshot], copies: [ModelName: Int], demand: (ModelName) -> Double) -> Set<ModelName> {
        let lastCopies = Set(tier.lazy.flatMap(\.loaded.keys).filter { (copies[$0] ?? 0) <= 1 })
        guard let least = lastCopies.lazy.map(demand).min() else { return [] }
        let allowed = least * lastCopyDemandTolerance.factor + lastCopyDemandTolerance.perSecond
        return lastCopies.filter { demand($0) > allowed }
    }

    /// How much more asked for than the least a last copy may be and still be taken: rates are decayed
    /// estimates, so models a quarter apart (or a request every two minutes apart) count as equally rare.
    static let lastCopyDemandTolerance = (factor: 1.25, perSecond: 1.0 / 120)

    /// How long demand must have been measured before it ranks last copies. Over the first minute of
    /// a cold start each rate is a count of a few requests: a rare model asked for once was told
    /// from the others and unloaded moments after its load, its conversation's next turn loaded it
    /// back in another model's place, and on four nodes capped at two models each the first minute's
    /// p95 read 8.3 s in six runs of six, against 5.1 s with cost alone ranking the victims.
    static let sparingEvidenceSeconds = 60.0

    /// The time past which a cold load cannot matter to `choose` or `soonest`: the soonest the nodes
    /// holding the model predict. A cold load's prediction is at least its load, so a node whose load
    /// alone takes longer is never the best; nor does it join a near-tie, since `choose` drops cold
    /// loads from a near-tie that holds the best holder (see `ColdLoadCutoffTests`). Pricing a cold
    /// load costs its victims' reloads and the waits they leave (Erlang C per loaded model): at 64
    /// nodes that was 0.4-0.6 ms a request, most of it for nodes that could never beat a free warm slot.
    static func coldLoadCutoff(_ holderEstimates: some Sequence<CostModel.Estimate>) -> Double {
        // A holder's wait and prediction are the same today; the larger keeps `soonest` right if they part.
        let best = holderEstimates.map(\.seconds).min() ?? .infinity
        let soonestWait = holderEstimates.map(\.waitSeconds).min() ?? .infinity
        return max(best, soonestWait)
    }

    /// How long a request waits for a warm slot of `model` once every slot is busy: the requests
    /// ahead of it and itself, served by all the warm slots of the tier together (the queue belongs
    /// to the model, not to a node). Copies still loading join when their load ends; with none warm,
    /// the queue only starts to drain then: its first requests take the new slots, the rest wait for
    /// answers to end. Counted from now, the 12th request behind a 13 s load of 3.8 s answers looked
    /// 23 s away instead of 32, under the 24 s past which a request is refused at once, so it queued
    /// toward a 503 at 30 s.
    static func queueWaitSeconds(_ model: ModelName, tier: [NodeSnapshot], queuedAhead: Int, service: Double, now: Double) -> Double {
        let warmSlots = Self.warmSlots(model, on: tier)
        let loading = tier.compactMap { node in node.loading[model]?.remaining(at: now) }
        let position = Double(queuedAhead + 1)
        let warmOnly = warmSlots > 0 ? position * service / Double(warmSlots) : .infinity
        guard let soonest = loading.min() else { return warmOnly }
        let allSlots = Double(warmSlots + loadingSlots(model, on: tier))
        guard warmSlots > 0 else { return soonest + max(0, position - allSlots) * service / allSlots }
        return min(warmOnly, max(soonest, position * service / allSlots))
    }

    /// Parallel slots of the model's warm copies on these nodes.
    static func warmSlots(_ model: ModelName, on nodes: [NodeSnapshot]) -> Int {
        nodes.filter { $0.isLoaded(model) }.reduce(0) { $0 + $1.maxParallel }
    }

    /// Parallel slots of the model's copies loading on these nodes.
    static func loadingSlots(_ model: ModelName, on nodes: [NodeSnapshot]) -> Int {
        nodes.filter { $0.isLoading(model) }.reduce(0) { $0 + $1.maxParallel }
    }

    static func warmCopies(_ nodes: [NodeSnapshot]) -> [ModelName: Int] {
        var copies: [ModelName: Int] = [:]
        for node in nodes where node.health == .healthy {
            for model in node.loaded.keys { copies[model, default: 0] += 1 }
        }
        return copies
    }

    /// The holders of `model` in service (healthy, or suspect: see `CostModel.suspectNodeSeconds`)
    /// in the best priority tier that has any.
    static func candidateTier(_ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int>) -> Result<
        [NodeSnapshot], PlacementFailure
    > {
        // One pass to find the tier and one copy of its nodes: this runs several times a request.
        // A node whose loads look stuck serves only the models it has loaded.
        func isCandidate(_ node: NodeSnapshot) -> Bool {
            node.health.isInService && !excluding.contains(node.index) && (!node.loadsLookStuck || node.isLoaded(model))
        }
        var anyHolder = false
        var bestTier: Int?
        for node in nodes where node.hasPulled(model) {
            anyHolder = true
            if isCandidate(node) { bestTier = min(bestTier ?? node.priority, node.priority) }
        }
        guard let bestTier else {
            return .failure(!anyHolder && !nodes.contains { $0.health == .unknown } ? .modelNotFound : .noHealthyNode)
        }
        return .success(nodes.filter { $0.priority == bestTier && $0.hasPulled(model) && isCandidate($0) })
    }

    /// A node's `weight` in a near-tie, divided by the requests it is running plus one (Envoy's
    /// weighted least-request). Requests on one GPU slow each other, whichever model they are for:
    /// Ollama batches a model's parallel slots, and two models' runners share the GPU's compute and
    /// memory bandwidth. So of two nodes with a free warm slot, the idler one answers sooner, and it
    /// is drawn more often; idle nodes still split in proportion to their weights.
    static func busyScaledWeight(_ node: NodeSnapshot) -> Double {
        Double(node.weight) / Double(node.totalInFlight + 1)
    }

    /// An index drawn in proportion to `weights`; uniformly if they are all 0.
    static func pickWeighted(_ weights: [Int], using random: inout some RandomNumberGenerator) -> Int {
        pickWeighted(weights.map(Double.init), using: &random)
    }

    /// An index drawn in proportion to `weights`; uniformly if they are all 0.
    static func pickWeighted(_ weights: [Double], using random: inout some RandomNumberGenerator) -> Int {
        let total = weights.reduce(0, +)
        guard total > 0 else { return Int.random(in: 0..<weights.count, using: &random) }
        var ticket = Double.random(in: 0..<total, using: &random)
        for (index, weight) in weights.enumerated() {
            if ticket < weight { return index }
            ticket -= weight
        }
        return weights.count - 1
    }
}

/// The simple strategies, kept for comparison and for users who want them. They send every
/// request on at once (Ollama queues it) and know nothing of loads.
public enum SimpleStrategy {
    /// - Parameter rotation: a per-model counter for `round_robin`, advanced by the caller.
    public static func choose(
        _ strategy: ClusterConfig.Strategy, _ model: ModelName, among nodes: [NodeSnapshot], excluding: Set<Int> = [], rotation: Int,
        using random: inout some RandomNumberGenerator
    ) -> Result<Int, PlacementFailure> {
        let holders = nodes.filter { $0.hasPulled(model) }
        let healthy = holders.filter { $0.health == .healthy && !excluding.contains($0.index) }
        // A suspect node (`NodeHealth.suspect`) only when no healthy one holds the model.
        let candidates = healthy.isEmpty ? holders.filter { $0.health == .suspect && !excluding.contains($0.index) } : healthy
        guard !candidates.isEmpty else {
            return .failure(holders.isEmpty && !nodes.contains { $0.health == .unknown } ? .modelNotFound : .noHealthyNode)
        }
        switch strategy {
        case .roundRobin:
            // Rotates over the healthy endpoints in priority order, as the seed's router does.
            let ordered = candidates.sorted { ($0.priority, $0.index) < ($1.priority, $1.index) }
            return .success(ordered[rotation % ordered.count].index)
        case .weighted:
            // In proportion to weight among all healthy endpoints; priority only orders retries.
            return .success(candidates[AffinityPlacement.pickWeighted(candidates.map(\.weight), using: &random)].index)
        case .leastBusy, .affinity:
            let fewest = candidates.map(\.totalInFlight).min()!
            let idle = candidates.filter { $0.totalInFlight == fewest }
            return .success(idle[Int.random(in: 0..<idle.count, using: &random)].index)
        }
    }
}
