import Synchronization

/// The set of nodes and the act of placing a request on one of them: the configured strategy,
/// TensorWall's wait queue when every candidate is saturated, and conversation affinity. The
/// clock and the randomness are injected so placement can be tested deterministically.
public final class Cluster: Sendable {
    public let nodes: [OllamaNode]
    public let strategy: ClusterConfig.Strategy
    public let queueSettings: ClusterConfig.QueueSettings
    public let costModel: CostModel
    private let random: Mutex<any RandomNumberGenerator & Sendable>
    private let clock: @Sendable () -> Double
    private let firstProbe = FirstProbeGate()
    private let queues = WaitQueues()
    private let demand = Mutex(DemandTracker())
    private let conversations = Mutex(ConversationMap(capacity: 100_000))
    private let rotations = Mutex<[ModelName: Int]>([:])
    private let outliers: Mutex<OutlierDetector>

    public init(
        nodes: [ClusterConfig.NodeConfig], strategy: ClusterConfig.Strategy = .affinity,
        queue: ClusterConfig.QueueSettings = ClusterConfig.QueueSettings(), outlier: ClusterConfig.OutlierSettings = .init(),
        costModel: CostModel = CostModel(),
        random: any RandomNumberGenerator & Sendable = FastRandom(),
        clock: @escaping @Sendable () -> Double = Cluster.monotonicSeconds
    ) {
        self.nodes = nodes.enumerated().map { OllamaNode(index: $0.offset, config: $0.element) }
        self.strategy = strategy
        self.queueSettings = queue
        self.costModel = costModel
        self.outliers = Mutex(OutlierDetector(settings: outlier))
        self.random = Mutex(random)
        self.clock = clock
    }

    public static let monotonicSeconds: @Sendable () -> Double = { MonotonicOrigin.seconds() }

    public var now: Double { clock() }

    public func snapshots() async -> [NodeSnapshot] {
        var result: [NodeSnapshot] = []
        result.reserveCapacity(nodes.count)
        for node in nodes { result.append(await node.snapshot()) }
        return result
    }

    /// The snapshots placement reasons over: probe health with passive health (ejections, busy cool-downs) applied.
    public func placementSnapshots() async -> [NodeSnapshot] {
        let all = await snapshots()
        let now = clock()
        return outliers.withLock { $0.apply(to: all, now: now) }
    }

    /// Passive health of a node right now: when its ejection ends, and whether it is cooling down after a "busy".
    public func passiveHealth(_ node: Int) -> (ejectedUntil: Double?, coolingDown: Bool) {
        let now = clock()
        return outliers.withLock { ($0.ejectedUntil(node, now: now), $0.isCoolingDown(node, now: now)) }
    }

    /// Feeds passive health; true when this outcome got the node ejected.
    func recordOutlierSignal(_ signal: OutlierDetector.Signal, node: Int) -> Bool {
        let now = clock()
        let ejected = outliers.withLock { $0.record(signal, node: node, nodeCount: nodes.count, now: now) }
        if ejected || signal == .busy || signal == .refused { queues.capacityChanged() }
        return ejected
    }

    /// A probe reached the node: it listens again, whatever connections it refused before.
    public func probeReached(_ node: Int) {
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

    /// Recent requests per second for `model` across the farm (exponentially decayed).
    public func demandRate(_ model: ModelName) -> Double {
        let now = clock()
        return demand.withLock { $0.rate(model, now: now) }
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
        public var excluding: Set<Int>
        /// Hash of the conversation before its newest turn, to find the node that served it.
        public var conversationKey: UInt64?
        /// False for a hedge: take a slot that can start now, or none; never wait in the queue.
        public var mayWait: Bool

        public init(
            model: ModelName, strategy: ClusterConfig.Strategy? = nil, excluding: Set<Int> = [], conversationKey: UInt64? = nil,
            mayWait: Bool = true
        ) {
            self.model = model
            self.strategy = strategy
            self.excluding = excluding
            self.conversationKey = conversationKey
            self.mayWait = mayWait
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

    /// Records which node served a conversation so its next turn can go there too.
    public func remember(conversation key: UInt64, node: Int) {
        conversations.withLock { $0.remember(key, node: node) }
    }

    private func acquireSimple(_ request: Request, strategy: ClusterConfig.Strategy) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        for _ in 0..<4 {
            let snapshots = await placementSnapshots()
            let rotation = rotations.withLock { rotations -> Int in
                defer { rotations[model, default: 0] &+= 1 }
                return rotations[model, default: 0]
            }
            let choice = random.withLock { generator -> Result<Int, PlacementFailure> in
                var local = generator
                defer { generator = local }
                return SimpleStrategy.choose(
                    strategy, model, among: snapshots, excluding: request.excluding, rotation: rotation, using: &local)
            }
            switch choice {
            case .failure(let failure): return .failure(failure)
            case .success(let index):
                let load = costModel.predictedLoadSeconds(model, on: snapshots[index])
                if await nodes[index].tryAcquire(model, claim: .any(predictedLoadSeconds: load), now: clock()) {
                    let predicted = snapshots[index].loaded[model] == nil ? load : 0
                    return .success(
                        Lease(
                            cluster: self, node: nodes[index], model: model, claim: .any(predictedLoadSeconds: load), startedAt: clock(),
                            expectedStartSeconds: predicted, expectedServiceSeconds: snapshots[index].serviceSeconds[model]))
                }
            }
        }
        return .failure(.noHealthyNode)
    }

    private func acquireByCost(_ request: Request) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        let deadline = ContinuousClock.now + .milliseconds(queueSettings.maxWaitMs)
        let conversationNode = request.conversationKey.flatMap { key in conversations.withLock { $0.node(for: key) } }
        var excluding = request.excluding
        var ticket: UInt64?
        defer { if let ticket { queues.leave(model, ticket) } }
        var epoch = queues.epoch
        var lostRace = false
        while true {
            if ticket == nil && !queues.isEmpty(model) && request.mayWait {
                // Others are already waiting for this model: no overtaking.
                guard let joined = queues.enqueue(model, maxLength: queueSettings.maxLength) else {
                    return .failure(.queueFull(retryAfterSeconds: 1))
                }
                ticket = joined
            }
            if let waiting = ticket {
                switch await queues.waitForTurn(model, waiting, seenEpoch: lostRace ? nil : epoch, deadline: deadline) {
                case .turn: break
                case .timedOut, .cancelled: return .failure(.queueTimeout)
                }
            }
            epoch = queues.epoch
            lostRace = false
            let snapshots = await placementSnapshots()
            let now = clock()
            let decision = random.withLock { generator -> Result<CostModel.Estimate, PlacementFailure> in
                var local = generator
                defer { generator = local }
                let rates = demand.withLock { $0 }
                return AffinityPlacement.choose(
                    model, among: snapshots, excluding: excluding, conversationNode: conversationNode, now: now, costModel: costModel,
                    demand: { rates.rate($0, now: now) }, using: &local)
            }
            let estimate: CostModel.Estimate
            switch decision {
            case .failure(let failure): return .failure(failure)
            case .success(let chosen): estimate = chosen
            }
            if estimate.startsNow {
                if await nodes[estimate.nodeIndex].tryAcquire(model, claim: estimate.claim, now: clock()) {
                    return .success(
                        Lease(
                            cluster: self, node: nodes[estimate.nodeIndex], model: model, claim: estimate.claim, startedAt: clock(),
                            expectedStartSeconds: estimate.seconds,
                            expectedServiceSeconds: snapshots[estimate.nodeIndex].serviceSeconds[model]))
                }
                lostRace = true  // another request took that slot first: look again at once
                continue
            }
            guard request.mayWait else { return .failure(.queueFull(retryAfterSeconds: max(1, Int(estimate.seconds.rounded(.up))))) }
            if ticket == nil {
                guard let joined = queues.enqueue(model, maxLength: queueSettings.maxLength) else {
                    // This tier's queue is full: a lower tier may still start at once.
                    let tier = snapshots.filter { $0.priority == snapshots[estimate.nodeIndex].priority }.map(\.index)
                    excluding.formUnion(tier)
                    if case .success = AffinityPlacement.candidateTier(model, among: snapshots, excluding: excluding) { continue }
                    return .failure(.queueFull(retryAfterSeconds: max(1, Int(estimate.seconds.rounded(.up)))))
                }
                ticket = joined
            }
        }
    }
}

/// A slot taken on a node; end it exactly once with `release`.
public struct Lease: Sendable {
    public let cluster: Cluster
    public let node: OllamaNode
    public let model: ModelName
    public let claim: SlotClaim
    /// Monotonic seconds when the slot was taken.
    public let startedAt: Double
    /// What placement predicted: seconds until the node can start on the request (slot wait, load).
    public var expectedStartSeconds: Double
    /// The model's learned time in a slot on this node (prompt evaluation and generation), if known.
    public var expectedServiceSeconds: Double?

    public init(
        cluster: Cluster, node: OllamaNode, model: ModelName, claim: SlotClaim, startedAt: Double, expectedStartSeconds: Double = 0,
        expectedServiceSeconds: Double? = nil
    ) {
        self.cluster = cluster
        self.node = node
        self.model = model
        self.claim = claim
        self.startedAt = startedAt
        self.expectedStartSeconds = expectedStartSeconds
        self.expectedServiceSeconds = expectedServiceSeconds
    }

    /// The node started answering: a load it was doing is finished.
    public func firstByteArrived() async {
        await node.firstByteArrived(model)
    }

    /// Gives the slot back; returns true when this outcome got the node ejected by passive health.
    @discardableResult
    public func release(_ outcome: RequestOutcome) async -> Bool {
        var outcome = outcome
        if outcome.succeeded && outcome.serviceSeconds == nil { outcome.serviceSeconds = cluster.now - startedAt }
        await node.release(model, outcome: outcome, now: cluster.now)
        let ejected = outcome.signal.map { cluster.recordOutlierSignal($0, node: node.index) } ?? false
        cluster.capacityChanged()
        return ejected
    }
}

/// Holds placements back until the first probe round has told us what each node has.
final class FirstProbeGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.open else { return [] }
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        if state.withLock({ $0.open }) { return }
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }
}

/// Monotonic seconds since the process started.
enum MonotonicOrigin {
    static let origin = ContinuousClock.now

    static func seconds() -> Double {
        let elapsed = origin.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
