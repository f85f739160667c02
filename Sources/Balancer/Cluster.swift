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
        /// Which runners serve a request that sets `num_ctx` (`RunnerContexts`).
        public var numCtx = ClusterConfig.NumCtxPolicy.exact

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
    let membership: Mutex<Membership>
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
    /// The warm copies that last target releases, by node (`CapacityPlanner.copiesReleased`).
    public let releasedCopies = Mutex<[NodeID: Set<ModelName>]>([:])
    /// The copies that last target left out only for the advantage of held ones (`TargetChallengers`).
    public let targetChallengers = Mutex(TargetChallengers())
    /// When the planner's rounds last told the operator the farm lacks room (`RoomShortfall`).
    public let roomShortfall = Mutex(RoomShortfall())
    let conversations = Mutex(ConversationMap(capacity: 100_000))
    /// The context lengths each model's recent requests asked (`Cluster.usualContextLength`).
    let contextLengthTally = Mutex(ContextLengthTally())
    /// What `/api/show` said of each model's context length, by digest (`ModelContextFacts`).
    let describedModels = Mutex<[String: ModelContextFacts]>([:])
    /// The name each model that shares another's runner is placed under (`SharedRunners`).
    let runnerAliases = Mutex<[ModelName: ModelName]>([:])
    let rotations = Mutex<[ModelName: Int]>([:])
    let outliers: Mutex<OutlierDetector>

    public init(
        nodes: [ClusterConfig.NodeConfig], strategy: ClusterConfig.Strategy = .affinity,
        queue: ClusterConfig.QueueSettings = ClusterConfig.QueueSettings(), outlier: ClusterConfig.OutlierSettings = .init(),
        numCtx: ClusterConfig.NumCtxPolicy = .exact, costModel: CostModel = CostModel(),
        plannerSettings: CapacityPlanner.Settings = CapacityPlanner.Settings(),
        random: any RandomNumberGenerator & Sendable = FastRandom(),
        clock: @escaping @Sendable () -> Double = Cluster.monotonicSeconds, timeScale: Double = 1
    ) {
        self.timeScale = timeScale
        self.membership = Mutex(
            Membership(nodes: nodes.map(OllamaNode.init(config:)), strategy: strategy, queueSettings: queue, numCtx: numCtx))
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

    public static let monotonicSeconds: @Sendable () -> Double = { MonotonicOrigin.seconds() }

    public var now: Double { clock() }

    /// The snapshots placement reasons over: probe health with passive health (ejections, busy cool-downs) applied.
    /// - Parameter leaving: a node the probes are taking out of service, shown out already: the plan
    ///   made as it leaves (`HealthMonitor.setBeforeLeavingService`) is made without it.
    public func placementSnapshots(leaving: NodeID? = nil) async -> [NodeSnapshot] {
        await placementSnapshots(of: nodes, leaving: leaving)
    }

    func placementSnapshots(of nodes: [OllamaNode], leaving: NodeID? = nil) async -> [NodeSnapshot] {
        var all = await snapshots(of: nodes)
        if let leaving, let index = all.firstIndex(where: { $0.id == leaving }) { all[index].health = .unhealthy }
        let now = clock()
        var placed = outliers.withLock { $0.apply(to: all, now: now) }
        markReleasedCopies(on: &placed)
        return placed
    }

    /// `snapshots` with the last target's released copies marked (`NodeSnapshot.releasedByTarget`),
    /// as placement prices them: what `/status` shows.
    public func markingReleasedCopies(_ snapshots: [NodeSnapshot]) -> [NodeSnapshot] {
        var marked = snapshots
        markReleasedCopies(on: &marked)
        return marked
    }

    /// Marks the last target's released copies in place (the request path's snapshots are not
    /// copied), as long as each model is still warm on another node in service (the round that
    /// released them may be a moment old: a node may have gone since). Runs on every request while
    /// the target releases anything: the plan's own set is shared, not copied, unless a copy has to be
    /// dropped from it.
    private func markReleasedCopies(on snapshots: inout [NodeSnapshot]) {
        let released = releasedCopies.withLock { $0 }
        guard !released.isEmpty else { return }
        for index in snapshots.indices where snapshots[index].health.isInService {
            guard let models = released[snapshots[index].id] else { continue }
            func stillReleased(_ model: ModelName) -> Bool {
                snapshots[index].loaded[model] != nil
                    && snapshots.contains { $0.index != index && $0.health.isInService && $0.loaded[model] != nil }
            }
            snapshots[index].releasedByTarget = models.allSatisfy(stillReleased) ? models : models.filter(stillReleased)
        }
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
    public func queuedRequests(_ model: ModelName) -> Int { queues.count(runnerModel(model)) }

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
        /// The context length the request asks of the model's runner (`options.num_ctx`; nil when it
        /// sets none): a runner loaded for another is reloaded by Ollama (`RunnerContexts`).
        public var contextLength: Int?
        /// Another target (a route's cloud endpoint) takes the request if the farm refuses it, so a
        /// refusal keeps no place in the queue for it to come back to (`reviewUnmeasuredWait`).
        public var fallsBack: Bool

        public init(
            model: ModelName, strategy: ClusterConfig.Strategy? = nil, excluding: Set<NodeID> = [], conversationKey: UInt64? = nil,
            isHedge: Bool = false, retryKey: UInt64? = nil, contextLength: Int? = nil, fallsBack: Bool = false
        ) {
            self.fallsBack = fallsBack
            self.model = model
            self.strategy = strategy
            self.excluding = excluding
            self.conversationKey = conversationKey
            self.isHedge = isHedge
            self.retryKey = retryKey
            self.contextLength = contextLength
        }
    }

    /// Places a request and takes a slot on the chosen node, waiting in the model's queue when
    /// every candidate is saturated.
    public func acquire(_ request: Request) async -> Result<Lease, PlacementFailure> {
        await firstProbe.wait()
        var request = request
        request.model = runnerModel(request.model)
        let now = clock()
        // Demand and the length asked count from a request's arrival: at a cold start most requests
        // wait in the queue for the first loads, and counted only once placed, the loads after the
        // first few were judged by the few requests that had been. Not for a hedge (a second try for a
        // request already counted), nor for a model no node holds: names are the clients', and a client
        // sending a new one in every request grew the demand, and every planner round, by a model a request.
        if !request.isHedge, nodes.contains(where: { $0.hasPulled(request.model) }) {
            demand.withLock { $0.record(request.model, now: now) }
            contextLengthTally.withLock { $0.record(request.model, contextLength: request.contextLength) }
        }
        let strategy = request.strategy ?? self.strategy
        let placed = strategy != .affinity ? await acquireSimple(request, strategy: strategy) : await acquireByCost(request)
        guard case .success(var lease) = placed else { return placed }
        await noteContextAsked(request, lease: &lease)
        return .success(lease)
    }

    /// Claims a load the planners decided (warm list, copies sized to demand) on the node a snapshot
    /// was taken of: the load shows as under way at once, so requests join it instead of starting
    /// another. Nil when the node was replaced by a reload or no longer accepts the claim.
    public func claimPlannedLoad(_ model: ModelName, on snapshot: NodeSnapshot, evicting: [ModelName] = []) async -> Lease? {
        guard let node = node(snapshot.id), node.url == snapshot.url else { return nil }
        // A busy victim drains first (`OllamaNode.tryAcquire(drainingBusy:)`): its answer's length comes before the load.
        let drain =
            evicting.filter { snapshot.inFlight($0) > 0 }.map { costModel.serviceSeconds($0, on: snapshot) }.max() ?? 0
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
}
