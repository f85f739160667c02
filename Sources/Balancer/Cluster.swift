import Synchronization

/// The set of nodes and the act of placing a request on one of them: the configured strategy,
/// TensorWall's wait queue when every candidate is saturated, and conversation affinity. The
/// clock and the randomness are injected so placement can be tested deterministically.
///
/// One cluster lives as long as the process. A reload (`reconfigure`) swaps its membership: nodes
/// keep their actor, and so their learned times, in-flight slots and ejections, for as long as
/// their name and URL stay the same.
///
/// Concurrency rule: each piece of state below has exactly one owner. A node's inventory, slots and
/// learned times belong to its `OllamaNode` actor; everything else here sits in its own `Mutex`,
/// taken for a few statements that neither suspend nor take another lock. Code that needs two of
/// them reads one, releases it, then takes the other (a decision may see them a moment apart,
/// which placement tolerates: the node actor re-checks every claim when the slot is taken).
public final class Cluster: Sendable {
    /// What a config decides and a reload replaces as one value, so a placement reads it once.
    public struct Membership: Sendable {
        public let nodes: [OllamaNode]
        public let strategy: ClusterConfig.Strategy
        public let queueSettings: ClusterConfig.QueueSettings

        /// Positions in `nodes` of the given identities (those still members).
        func indices(of ids: Set<NodeID>) -> Set<Int> {
            guard !ids.isEmpty else { return [] }
            return Set(nodes.indices.filter { ids.contains(nodes[$0].id) })
        }
    }

    public let costModel: CostModel
    public let plannerSettings: CapacityPlanner.Settings
    /// Farm seconds per real second are 1 / timeScale: durations the nodes report (real) are
    /// divided by it, waits the cluster plans (farm seconds) multiplied by it before sleeping.
    public let timeScale: Double
    private let membership: Mutex<Membership>
    let random: Mutex<any RandomNumberGenerator & Sendable>
    let clock: @Sendable () -> Double
    private let firstProbe = FirstProbeGate()
    let queues = WaitQueues()
    let demand = Mutex(DemandTracker())
    /// How queued requests' real waits compared with what was predicted when they queued.
    let waitCalibration = Mutex(WaitCalibration())
    /// Places kept for refused requests until they come back as told (`RetryPromises`).
    let retryPromises = Mutex(RetryPromises())
    /// Service times from a saved state, used until a node measures its own.
    let serviceHints = Mutex<[ModelName: Double]>([:])
    /// The capacity planner's last target layout (`CapacityPlanner.planWithTarget`), which the next
    /// round's packing leans on so the target holds steady, and which `/status` shows.
    public let plannedTarget = Mutex<[NodeID: Set<ModelName>]>([:])
    private let conversations = Mutex(ConversationMap(capacity: 100_000))
    private let rotations = Mutex<[ModelName: Int]>([:])
    private let outliers: Mutex<OutlierDetector>

    public init(
        nodes: [ClusterConfig.NodeConfig], strategy: ClusterConfig.Strategy = .affinity,
        queue: ClusterConfig.QueueSettings = ClusterConfig.QueueSettings(), outlier: ClusterConfig.OutlierSettings = .init(),
        costModel: CostModel = CostModel(), plannerSettings: CapacityPlanner.Settings = CapacityPlanner.Settings(),
        random: any RandomNumberGenerator & Sendable = FastRandom(),
        clock: @escaping @Sendable () -> Double = Cluster.monotonicSeconds, timeScale: Double = 1
    ) {
        self.timeScale = timeScale
        self.membership = Mutex(Membership(nodes: nodes.map(OllamaNode.init(config:)), strategy: strategy, queueSettings: queue))
        self.costModel = costModel
        self.plannerSettings = plannerSettings
        self.outliers = Mutex(OutlierDetector(settings: outlier))
        self.random = Mutex(random)
        self.clock = clock
    }

    /// The nodes, strategy and queue settings in force now.
    public var current: Membership { membership.withLock { $0 } }
    public var nodes: [OllamaNode] { current.nodes }
    public var strategy: ClusterConfig.Strategy { current.strategy }
    public var queueSettings: ClusterConfig.QueueSettings { current.queueSettings }

    /// The member with this identity, if it is still configured.
    public func node(_ id: NodeID) -> OllamaNode? { nodes.first { $0.id == id } }

    /// What a reload did to the node list.
    public struct Reconfiguration: Sendable, Equatable {
        /// Same name and URL: the actor, its learned state, slots in flight and ejection carry on.
        public var kept: [NodeID] = []
        /// New names, or a known name at a new URL: they start unknown until probed.
        public var added: [NodeID] = []
        /// Gone from the config: requests running there finish; nothing new is placed there.
        public var removed: [NodeID] = []
    }

    /// Applies a reloaded config. Nodes keep their actor while their name and URL stay the same
    /// (weight, priority and limits are updated in place); demand, queues, conversations and the
    /// passive health of kept nodes carry on. Waiting requests look again at the new membership.
    @discardableResult
    public func reconfigure(
        nodes configs: [ClusterConfig.NodeConfig], strategy: ClusterConfig.Strategy, queue: ClusterConfig.QueueSettings,
        outlier: ClusterConfig.OutlierSettings
    ) async -> Reconfiguration {
        let old = nodes
        var change = Reconfiguration()
        var next: [OllamaNode] = []
        for config in configs {
            if let same = old.first(where: { $0.id == config.id && $0.url == config.url }) {
                await same.update(config)
                next.append(same)
                change.kept.append(config.id)
            } else {
                next.append(OllamaNode(config: config))
                change.added.append(config.id)
            }
        }
        change.removed = old.map(\.id).filter { id in !configs.contains { $0.id == id } }
        membership.withLock { $0 = Membership(nodes: next, strategy: strategy, queueSettings: queue) }
        let kept = Set(change.kept)
        outliers.withLock { detector in
            detector.settings = outlier
            detector.keepOnly(kept)
        }
        queues.capacityChanged()
        return change
    }

    public static let monotonicSeconds: @Sendable () -> Double = { MonotonicOrigin.seconds() }

    public var now: Double { clock() }

    /// The snapshots placement reasons over: probe health with passive health (ejections, busy cool-downs) applied.
    public func placementSnapshots() async -> [NodeSnapshot] {
        await placementSnapshots(of: nodes)
    }

    private func placementSnapshots(of nodes: [OllamaNode]) async -> [NodeSnapshot] {
        let all = await snapshots(of: nodes)
        let now = clock()
        return outliers.withLock { $0.apply(to: all, now: now) }
    }

    /// Passive health of a node right now: when its ejection ends, and whether it is cooling down after a "busy".
    public func passiveHealth(_ node: NodeID) -> (ejectedUntil: Double?, coolingDown: Bool) {
        let now = clock()
        return outliers.withLock { ($0.ejectedUntil(node, now: now), $0.isCoolingDown(node, now: now)) }
    }

    /// Feeds passive health; true when this outcome got the node ejected.
    func recordOutlierSignal(_ signal: OutlierDetector.Signal, node: NodeID) -> Bool {
        let now = clock()
        let nodeCount = nodes.count
        let ejected = outliers.withLock { $0.record(signal, node: node, nodeCount: nodeCount, now: now) }
        if ejected || signal == .busy || signal == .refused { queues.capacityChanged() }
        return ejected
    }

    /// A probe reached the node: it listens again, whatever connections it refused before.
    public func probeReached(_ node: NodeID) {
        outliers.withLock { $0.probeSucceeded(node) }
    }

    /// Returns once every node has been probed once (answered or failed).
    public func waitForFirstProbeRound() async {
        await firstProbe.wait()
    }

    /// Called by the prober when every node has been probed once (answered or failed).
    public func markFirstProbeRoundComplete() {
        firstProbe.open()
        queues.capacityChanged()
    }

    /// Something that could free a slot happened (a request ended, a probe changed a node): queued requests look again.
    public func capacityChanged() {
        queues.capacityChanged()
    }

    /// Requests waiting in TensorWall's queue for `model`.
    public func queuedRequests(_ model: ModelName) -> Int { queues.count(model) }

    /// Requests waiting in TensorWall's queues, per model (models with none are left out).
    public func queuedRequests() -> [ModelName: Int] { queues.counts() }

    /// What to place.
    public struct Request: Sendable {
        public var model: ModelName
        /// Overrides the cluster's strategy (a route may choose its own).
        public var strategy: ClusterConfig.Strategy?
        /// Nodes already tried for this request.
        public var excluding: Set<NodeID>
        /// Hash of the conversation before its newest turn, to find the node that served it.
        public var conversationKey: UInt64?
        /// A hedge: only a warm slot free right now will do (never a queue, never a cold load).
        public var isHedge: Bool
        /// Hash of the conversation with its newest turn: a request sent again after a refusal is
        /// known by it (`RetryPromises`).
        public var retryKey: UInt64?

        public init(
            model: ModelName, strategy: ClusterConfig.Strategy? = nil, excluding: Set<NodeID> = [], conversationKey: UInt64? = nil,
            isHedge: Bool = false, retryKey: UInt64? = nil
        ) {
            self.model = model
            self.strategy = strategy
            self.excluding = excluding
            self.conversationKey = conversationKey
            self.isHedge = isHedge
            self.retryKey = retryKey
        }
    }

    /// Places a request and takes a slot on the chosen node, waiting in the model's queue when
    /// every candidate is saturated.
    public func acquire(_ request: Request) async -> Result<Lease, PlacementFailure> {
        await firstProbe.wait()
        let now = clock()
        demand.withLock { $0.record(request.model, now: now) }
        let strategy = request.strategy ?? self.strategy
        if strategy != .affinity { return await acquireSimple(request, strategy: strategy) }
        return await acquireByCost(request)
    }

    /// Claims a load the planners decided (warm list, copies sized to demand) on the node a snapshot
    /// was taken of: the load shows as under way at once, so requests join it instead of starting
    /// another. Nil when the node was replaced by a reload or no longer accepts the claim.
    public func claimPlannedLoad(_ model: ModelName, on snapshot: NodeSnapshot, evicting: [ModelName] = []) async -> Lease? {
        guard let node = node(snapshot.id), node.url == snapshot.url else { return nil }
        // A busy victim drains first (`OllamaNode.tryAcquire(drainingBusy:)`): its answer's length comes before the load.
        let drain =
            evicting.filter { snapshot.inFlight($0) > 0 }.map { snapshot.serviceSeconds[$0] ?? costModel.defaultServiceSeconds }.max() ?? 0
        let claim = SlotClaim.coldLoad(predictedSeconds: costModel.predictedLoadSeconds(model, on: snapshot) + drain)
        guard await node.tryAcquire(model, claim: claim, now: clock(), evicting: evicting, drainingBusy: true) else { return nil }
        var lease = Lease(cluster: self, node: node, nodeConfig: snapshot.config, model: model, claim: claim, startedAt: clock())
        lease.evicting = evicting
        lease.drainingAnswerSeconds = drain
        return lease
    }

    /// Records which node served a conversation so its next turn can go there too.
    public func remember(conversation key: UInt64, node: NodeID) {
        conversations.withLock { $0.remember(key, node: node) }
    }

    private func acquireSimple(_ request: Request, strategy: ClusterConfig.Strategy) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        for _ in 0..<4 {
            let members = current
            let nodes = members.nodes
            let snapshots = await placementSnapshots(of: nodes)
            let rotation = rotations.withLock { rotations -> Int in
                defer { rotations[model, default: 0] &+= 1 }
                return rotations[model, default: 0]
            }
            let choice = random.withLock { generator -> Result<Int, PlacementFailure> in
                var local = generator
                defer { generator = local }
                return SimpleStrategy.choose(
                    strategy, model, among: snapshots, excluding: members.indices(of: request.excluding), rotation: rotation, using: &local)
            }
            switch choice {
            case .failure(let failure): return .failure(failure)
            case .success(let index):
                let load = costModel.predictedLoadSeconds(model, on: snapshots[index])
                if await nodes[index].tryAcquire(model, claim: .any(predictedLoadSeconds: load), now: clock()) {
                    let predicted = snapshots[index].loaded[model] == nil ? load : 0
                    return .success(
                        Lease(
                            cluster: self, node: nodes[index], nodeConfig: snapshots[index].config, model: model,
                            claim: .any(predictedLoadSeconds: load), startedAt: clock(), expectedStartSeconds: predicted,
                            expectedServiceSeconds: snapshots[index].serviceSeconds[model]))
                }
            }
        }
        return .failure(.noHealthyNode)
    }

    /// A predicted wait is a mean: a request predicted to wait nearly the maximum times out about as
    /// often as not, after making its client wait the whole time (at 300 % load on the placement
    /// benchmark, 20 of 343 refusals were 503s after 30 s in the queue). So a request is refused at
    /// once when its predicted wait is over this share of the maximum.
    public static let shedShareOfMaxWait = 0.8

    /// The `affinity` strategy with TensorWall's queue: a request takes the node predicted to give
    /// it a first token soonest. The predicted wait for a warm slot counts the requests already
    /// queued for the model, so when a queue builds, a new arrival starts a cold load elsewhere as
    /// soon as that beats the queue (queued requests then move to the new copy once it is warm:
    /// the queue belongs to the model, not to a node). A request predicted to wait longer than
    /// `shedShareOfMaxWait` of the queue's maximum wait is refused at once with the time it would have waited.
    private func acquireByCost(_ request: Request) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        let queueSettings = self.queueSettings
        let maxWait = Double(queueSettings.maxWaitMs) / 1000
        let shedAbove = maxWait * Self.shedShareOfMaxWait
        let deadline = ContinuousClock.now + .milliseconds(Int64(Double(queueSettings.maxWaitMs) * timeScale))
        let conversationNodeID = request.conversationKey.flatMap { key in conversations.withLock { $0.node(for: key) } }
        var excludingIDs = request.excluding
        // A refused request back at the time it was told: its place was kept, and only a wait past the
        // maximum refuses it again.
        let isPromisedRetry = request.retryKey.map { key in retryPromises.withLock { $0.redeem(key, model: model, now: clock()) } } ?? false
        var ticket: UInt64?
        defer { if let ticket { queues.leave(model, ticket) } }
        var epoch = queues.epoch
        var lostRace = false
        var queuedAt: Double?
        // The plain prediction a queued request was given, and the warm slots it was made on.
        var predictedAtQueueing: (seconds: Double, warmSlots: Int)?
        while true {
            if let waiting = ticket {
                switch await queues.waitForTurn(model, waiting, seenEpoch: lostRace ? nil : epoch, deadline: deadline) {
                case .turn: break
                case .timedOut, .cancelled: return .failure(.queueTimeout)
                }
            }
            epoch = queues.epoch
            lostRace = false
            // Read the membership once a round: a reload between rounds is seen whole on the next.
            let members = current
            let nodes = members.nodes
            let snapshots = await placementSnapshots(of: nodes)
            let excluding = members.indices(of: excludingIDs)
            let conversationNode = conversationNodeID.flatMap { id in snapshots.first { $0.id == id }?.index }
            let now = clock()
            // The head of the queue has nobody ahead; a new arrival has the whole queue ahead of it.
            let ahead = ticket == nil ? queues.count(model) : 0
            var estimate: CostModel.Estimate
            switch choose(model, snapshots, excluding: excluding, conversationNode: conversationNode, now: now, queuedAhead: ahead) {
            case .failure(let failure): return .failure(failure)
            case .success(let chosen): estimate = chosen
            }
            // Shed only on a measured service time: a guess must not turn requests away. Worked out only
            // for a request that would wait: one that starts at once pays for none of this.
            func serviceMeasured() -> Bool { snapshots.contains { $0.serviceSeconds[model] != nil } }
            // The model's warm slots and the calibration learned on that many, read once a round.
            lazy var warmSlots = AffinityPlacement.warmSlots(model, on: snapshots)
            lazy var calibration = waitCalibration.withLock { $0.factor(model, warmSlots: warmSlots) }
            func expectedWait(_ estimate: CostModel.Estimate) -> Double {
                predictedWait(estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, now: now)
                    * calibration
            }
            // The chosen estimate's expected wait, once worked out.
            var predicted: Double?
            // Placement ranks by what a choice costs everyone, the models it unloads included; a refusal
            // must be about this request's own wait. When the pick would refuse it, the node that can
            // start it soonest takes it if that is in time: at a cold start, a request whose model had
            // just been unloaded was refused (predicted 27 s behind busy models) while another node
            // could have unloaded an idle model and started its load at once.
            if ticket == nil, !estimate.startsNow, serviceMeasured() {
                predicted = expectedWait(estimate)
                if predicted! > shedAbove, let sooner = soonest(model, snapshots, excluding: excluding, now: now, queuedAhead: ahead) {
                    let soonerWait = expectedWait(sooner)
                    if soonerWait <= shedAbove { (estimate, predicted) = (sooner, soonerWait) }
                }
            }
            // A new arrival does not overtake the queue for a warm slot that freed up; new capacity
            // (a cold load, or a load under way with room) is another matter.
            let overtakes = ticket == nil && ahead > 0 && estimate.claim == .warmSlot
            // With every known slot busy, a slot the node has but TensorWall has not seen yet beats
            // both a wait and a cold load. Only the request at the front probes; it is not a hedge's business.
            if !(estimate.startsNow && estimate.claim == .warmSlot) && !request.isHedge && (ticket != nil || ahead == 0),
                let lease = await probeParallelSlot(
                    model, nodes: nodes, snapshots: snapshots, excluding: excluding, conversationNode: conversationNode, now: now)
            {
                return .success(lease)
            }
            if request.isHedge && !(estimate.startsNow && estimate.claim == .warmSlot) {
                return .failure(.queueFull(retryAfterSeconds: 1, basis: nil))
            }
            if estimate.startsNow && !overtakes {
                if let running = await nodes[estimate.nodeIndex].tryAcquireCounting(
                    model, claim: estimate.claim, now: clock(), evicting: estimate.evicting)
                {
                    var lease = Lease(
                        cluster: self, node: nodes[estimate.nodeIndex], nodeConfig: snapshots[estimate.nodeIndex].config, model: model,
                        claim: estimate.claim, startedAt: clock(), expectedStartSeconds: estimate.waitSeconds,
                        expectedServiceSeconds: snapshots[estimate.nodeIndex].serviceSeconds[model])
                    lease.evicting = estimate.evicting
                    lease.runningWhenSent = running
                    if let queuedAt, let (predicted, slots) = predictedAtQueueing {
                        let actual = clock() - queuedAt
                        waitCalibration.withLock {
                            $0.record(model, predicted: predicted, actual: actual, warmSlots: slots, teachingFrom: shedAbove / 4)
                        }
                    }
                    return .success(lease)
                }
                lostRace = true  // another request took that slot first: look again at once
                continue
            }
            if ticket == nil {
                let measured = predicted != nil || serviceMeasured()
                var predicted = predicted ?? expectedWait(estimate)
                // The places kept for refused requests coming back count as queued ahead of a new arrival.
                if measured && !isPromisedRetry {
                    let promised = retryPromises.withLock { $0.isEmpty ? 0 : $0.outstanding(model, now: now) }
                    if promised > 0 { predicted += promisedPlacesSeconds(promised, model: model, snapshots: snapshots) * calibration }
                }
                if measured && predicted > (isPromisedRetry ? maxWait : shedAbove) {
                    // Waiting would take longer than anyone should be made to wait: say so now, with when to come back.
                    let retryAfter = max(1, Int((predicted - shedAbove).rounded(.up)))
                    if let key = request.retryKey {
                        retryPromises.withLock { $0.promise(key, model: model, now: now, retryAfterSeconds: Double(retryAfter)) }
                    }
                    return .failure(
                        .overloaded(
                            predictedWaitSeconds: Int(predicted.rounded(.up)),
                            retryAfterSeconds: retryAfter,
                            basis: refusalBasis(
                                estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead,
                                predictedWait: predicted, calibration: calibration)))
                }
                guard let joined = queues.enqueue(model, maxLength: queueSettings.maxLength) else {
                    // This tier's queue is full: a lower tier may still start at once.
                    let tier = snapshots.filter { $0.priority == snapshots[estimate.nodeIndex].priority }
                    excludingIDs.formUnion(tier.map(\.id))
                    let stillOpen = excluding.union(tier.map(\.index))
                    if case .success = AffinityPlacement.candidateTier(model, among: snapshots, excluding: stillOpen) { continue }
                    let basis = refusalBasis(
                        estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, predictedWait: predicted,
                        calibration: calibration)
                    return .failure(.queueFull(retryAfterSeconds: max(1, Int(estimate.waitSeconds.rounded(.up))), basis: basis))
                }
                ticket = joined
                queuedAt = clock()
                // Only a wait for warm slots teaches the calibration. A wait behind a load is off by how
                // the node's loads line up (Ollama runs them one at a time), and at a cold start that
                // taught a factor of 2: a queue of 37 for four warm slots (12 s) then read as 24 s and
                // was refused, while nobody in that minute waited over 18 s.
                let waitsForWarmSlots = estimate.claim == .warmSlot && !snapshots.contains { $0.isLoading(model) }
                predictedAtQueueing = waitsForWarmSlots ? (predicted / calibration, warmSlots) : nil
            }
            // The head of the queue of a model with no copy anywhere drains its way in (`drainingLoad`).
            if ahead == 0, !estimate.startsNow,
                let lease = await claimDrainingLoad(model, snapshots: snapshots, excluding: excluding, now: now)
            {
                return .success(lease)
            }
        }
    }
}
