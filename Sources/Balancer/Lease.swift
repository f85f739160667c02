/// A slot taken on a node; end it exactly once with `release`.
public struct Lease: Sendable {
    public let cluster: Cluster
    public let node: OllamaNode
    /// The node's config when the slot was taken: the request uses it from start to end, whatever a reload does.
    public let nodeConfig: ClusterConfig.NodeConfig
    public let model: ModelName
    public let claim: SlotClaim
    /// Monotonic seconds when the slot was taken.
    public let startedAt: Double
    /// What placement predicted: seconds until the node can start on the request (slot wait, load).
    public var expectedStartSeconds: Double
    /// The model's learned time in a slot on this node (prompt evaluation and generation), if known.
    public var expectedServiceSeconds: Double?
    /// Models to unload on the node before this request's cold load (placement chose them).
    public var evicting: [ModelName] = []
    /// The longest answer time among the busy ones of `evicting`, which take no new request and are
    /// unloaded once their own end (0 when every victim was idle): what a drain waits in multiples of.
    public var drainingAnswerSeconds = 0.0
    /// Requests for the model running on the node when this one took its slot (`tryAcquireCounting`).
    public var runningWhenSent: Int?
    /// Placement sent a conversation's next turn to the node that served its last one.
    public var continuesConversation = false
    /// The `num_ctx` to send a request that set none, so that the runner it goes to (or the load it
    /// starts) serves it without Ollama reloading it (`RunnerContexts.ridingLength`); nil: as it is.
    public var sentContextLength: Int?

    public init(
        cluster: Cluster, node: OllamaNode, nodeConfig: ClusterConfig.NodeConfig, model: ModelName, claim: SlotClaim, startedAt: Double,
        expectedStartSeconds: Double = 0, expectedServiceSeconds: Double? = nil
    ) {
        self.cluster = cluster
        self.node = node
        self.nodeConfig = nodeConfig
        self.model = model
        self.claim = claim
        self.startedAt = startedAt
        self.expectedStartSeconds = expectedStartSeconds
        self.expectedServiceSeconds = expectedServiceSeconds
    }

    /// The node started answering: a load it was doing is finished, and a load waiting for it may start.
    public func firstByteArrived() async {
        await node.firstByteArrived(model, now: cluster.now)
        if case .coldLoad = claim { cluster.capacityChanged() }
    }

    /// TensorWall's own load request carried this slot's cold load (the client's request could
    /// abort it), and it ended after `realSeconds`: the model is ready, and requests waiting for it may go.
    public func loadCarried(realSeconds: Double) async {
        await node.loadCarried(model, seconds: realSeconds / cluster.timeScale, now: cluster.now)
        cluster.capacityChanged()
    }

    /// What giving a slot back changed beyond the slot.
    public struct Released: Sendable {
        /// Passive health ejected the node because of this outcome.
        public var ejected: Bool
        /// The slots per model known on the node changed: a probe proved more, or Ollama's own queue showed fewer.
        public var parallelSlots: ParallelSlotChange?
        /// The node's reported durations are now multiplied by this to put them on TensorWall's clock (`ReportedDurationScale`).
        public var reportedDurationScale: Double?
    }

    /// Gives the slot back.
    @discardableResult
    public func release(_ outcome: RequestOutcome) async -> Released {
        var outcome = outcome
        // Ollama reports real seconds; the cluster's clock runs in farm seconds. (The node then puts
        // them on its own observed scale: `ReportedDurationScale`.)
        outcome.loadSeconds = outcome.loadSeconds.map { $0 / cluster.timeScale }
        outcome.nodeTotalSeconds = outcome.nodeTotalSeconds.map { $0 / cluster.timeScale }
        outcome.nodeSlotWaitSeconds = outcome.nodeSlotWaitSeconds.map { $0 / cluster.timeScale }
        // Only the load this slot started measures the node's load speed (one it joined measures less).
        if case .coldLoad = claim { outcome.startedColdLoad = true }
        if claim == .parallelProbe { outcome.wasParallelProbe = true }
        outcome.dispatchedAt = startedAt
        // Only a request sent to a slot TensorWall counted free says anything about how many there are.
        outcome.runningWhenSent = claim == .warmSlot ? runningWhenSent : nil
        outcome.continuedConversation = continuesConversation
        let effects = await node.release(model, outcome: outcome, now: cluster.now)
        let ejected = outcome.signal.map { cluster.recordOutlierSignal($0, node: node.id) } ?? false
        cluster.capacityChanged()
        return Released(ejected: ejected, parallelSlots: effects.parallelSlots, reportedDurationScale: effects.reportedDurationScale)
    }
}
