/// A consistent copy of one node's state, taken in a single actor hop, that placement reasons over.
public struct NodeSnapshot: Sendable {
    /// What the snapshot was taken with and nobody changes, behind one reference. Placement copies
    /// snapshots into filtered and ranked arrays several times a request, and copying a score of
    /// dictionaries and strings one by one was a quarter of a 16-node farm's placement. Only what
    /// the cluster adjusts after the node's hop (`index`, `health`, `heldElsewhereBytes`) stays outside.
    private final class Fixed: Sendable {
        let id: NodeID
        let config: ClusterConfig.NodeConfig
        let pulled: [ModelName: PulledModel]
        let loaded: [ModelName: LoadedModel]
        let loading: [ModelName: LoadInProgress]
        let inFlight: [ModelName: Int]
        let lastUsed: [ModelName: Double]
        let learnedLoadSecondsPerGB: Double?
        let serviceSeconds: [ModelName: Double]
        let firstTokenSeconds: [ModelName: Double]
        let coldLoadsStarted: Int
        let lastProbe: ProbeOutcome?
        let loadedAt: [ModelName: Double]
        let observedLimits: ObservedLimits
        let coldLoadsByModel: [ModelName: Int]
        let evictionsByModel: [ModelName: Int]
        let draining: [ModelName: LoadedModel]
        let comebacksAwaitingDrain: Set<ModelName>
        let parallelDiscovery: ParallelSlotDiscovery
        let runnerSizes: RunnerSizes
        let reportedDurationScale: Double
        let runnerContexts: RunnerContexts
        let ollamaVersion: String?

        init(
            id: NodeID, config: ClusterConfig.NodeConfig, pulled: [ModelName: PulledModel], loaded: [ModelName: LoadedModel],
            loading: [ModelName: LoadInProgress], inFlight: [ModelName: Int], lastUsed: [ModelName: Double],
            learnedLoadSecondsPerGB: Double?, serviceSeconds: [ModelName: Double], coldLoadsStarted: Int, lastProbe: ProbeOutcome?,
            loadedAt: [ModelName: Double], observedLimits: ObservedLimits, coldLoadsByModel: [ModelName: Int],
            evictionsByModel: [ModelName: Int], draining: [ModelName: LoadedModel], comebacksAwaitingDrain: Set<ModelName>,
            parallelDiscovery: ParallelSlotDiscovery, runnerSizes: RunnerSizes, reportedDurationScale: Double,
            firstTokenSeconds: [ModelName: Double], runnerContexts: RunnerContexts, ollamaVersion: String?
        ) {
            self.id = id
            self.config = config
            self.pulled = pulled
            self.loaded = loaded
            self.loading = loading
            self.inFlight = inFlight
            self.lastUsed = lastUsed
            self.learnedLoadSecondsPerGB = learnedLoadSecondsPerGB
            self.serviceSeconds = serviceSeconds
            self.firstTokenSeconds = firstTokenSeconds
            self.coldLoadsStarted = coldLoadsStarted
            self.lastProbe = lastProbe
            self.loadedAt = loadedAt
            self.observedLimits = observedLimits
            self.coldLoadsByModel = coldLoadsByModel
            self.evictionsByModel = evictionsByModel
            self.draining = draining
            self.comebacksAwaitingDrain = comebacksAwaitingDrain
            self.parallelDiscovery = parallelDiscovery
            self.runnerSizes = runnerSizes
            self.reportedDurationScale = reportedDurationScale
            self.runnerContexts = runnerContexts
            self.ollamaVersion = ollamaVersion
        }
    }

    private let fixed: Fixed

    /// Position in the node list this snapshot was taken from (valid for that list only).
    public internal(set) var index: Int
    public var id: NodeID { fixed.id }
    public var config: ClusterConfig.NodeConfig { fixed.config }
    public internal(set) var health: NodeHealth
    public var pulled: [ModelName: PulledModel] { fixed.pulled }
    public var loaded: [ModelName: LoadedModel] { fixed.loaded }
    /// Loads TensorWall started that have not produced a first byte yet (invisible in `/api/ps`).
    public var loading: [ModelName: LoadInProgress] { fixed.loading }
    /// Copies a planned load unloads once their requests end: in VRAM still, but taking no request.
    public var draining: [ModelName: LoadedModel] { fixed.draining }
    /// Draining copies whose model a planned load brings back here right after it: placement shows
    /// each as a load to queue for until the comeback is claimed (`CostModel.estimate`).
    public var comebacksAwaitingDrain: Set<ModelName> { fixed.comebacksAwaitingDrain }
    public var inFlight: [ModelName: Int] { fixed.inFlight }
    /// When each model last had a request start here (monotonic seconds).
    public var lastUsed: [ModelName: Double] { fixed.lastUsed }
    /// Learned seconds per GB of a cold load on this node (nil until a cold load was observed).
    public var learnedLoadSecondsPerGB: Double? { fixed.learnedLoadSecondsPerGB }
    /// Learned seconds from dispatch to the end of an answer, per model.
    public var serviceSeconds: [ModelName: Double] { fixed.serviceSeconds }
    /// How long a model's streamed answers here take to their first byte from a warm slot, averaged
    /// like `serviceSeconds` (`OllamaNode.release`): what makes one free slot quicker than another.
    public var firstTokenSeconds: [ModelName: Double] { fixed.firstTokenSeconds }
    /// Cold loads TensorWall has started on this node.
    public var coldLoadsStarted: Int { fixed.coldLoadsStarted }
    public var lastProbe: ProbeOutcome? { fixed.lastProbe }
    /// When each loaded model was first seen loaded (monotonic seconds); missing for models loaded before TensorWall started.
    public var loadedAt: [ModelName: Double] { fixed.loadedAt }
    /// What `/api/ps` showed about the node's limits, where it contradicts `cluster.json`.
    public var observedLimits: ObservedLimits { fixed.observedLimits }
    /// Cold loads TensorWall started here, per model.
    public var coldLoadsByModel: [ModelName: Int] { fixed.coldLoadsByModel }
    /// Models unloaded here to make room for a load, per model.
    public var evictionsByModel: [ModelName: Int] { fixed.evictionsByModel }
    /// What probes found of the node's parallel slots, and whether another may be sent.
    public var parallelDiscovery: ParallelSlotDiscovery { fixed.parallelDiscovery }
    /// What models take loaded here (the node's own claim checks read the same).
    public var runnerSizes: RunnerSizes { fixed.runnerSizes }
    /// What TensorWall multiplies the node's reported durations by to put them on its own clock
    /// (`ReportedDurationScale`): 1 on a real Ollama.
    public var reportedDurationScale: Double { fixed.reportedDurationScale }
    /// The context length each runner here serves (`RunnerContexts`): a request for another reloads it.
    public var runnerContexts: RunnerContexts { fixed.runnerContexts }
    /// The node's Ollama version as `/api/version` last said (nil until it has): for the operator,
    /// who upgrades a farm node by node.
    public var ollamaVersion: String? { fixed.ollamaVersion }
    /// The most another node of unknown VRAM was seen holding at once (filled in by `Cluster`). A farm
    /// usually runs one kind of GPU: what one node held, the others can hold, and the planner need not
    /// wait for each node to show it. A smaller node is found out by its first overflow, which gives it
    /// a budget of its own (`ObservedLimits.learn`). Without it, a farm configured by URL alone kept
    /// the hot model on two copies for minutes where each node had room for a third (1.15 s p95 at
    /// 75 % load, with runners 1 GB over their weights).
    public var heldElsewhereBytes: Int64?
    /// Warm copies here that the capacity planner's last target leaves out while their model's place
    /// in it is warm elsewhere (`CapacityPlanner.copiesReleased`, filled in by `Cluster`): a cold load
    /// here takes their place at no loss.
    public var releasedByTarget: Set<ModelName> = []
    /// A load here ran far past its prediction and was given up (`OllamaNode.loadLooksStuck`):
    /// placement sends the node no load, and only requests for a model loaded here.
    public var loadsLookStuck = false

    init(
        index: Int, id: NodeID, config: ClusterConfig.NodeConfig, health: NodeHealth, pulled: [ModelName: PulledModel],
        loaded: [ModelName: LoadedModel], loading: [ModelName: LoadInProgress], draining: [ModelName: LoadedModel] = [:],
        comebacksAwaitingDrain: Set<ModelName> = [], inFlight: [ModelName: Int], lastUsed: [ModelName: Double],
        learnedLoadSecondsPerGB: Double?, serviceSeconds: [ModelName: Double],
        coldLoadsStarted: Int, lastProbe: ProbeOutcome?, loadedAt: [ModelName: Double], observedLimits: ObservedLimits,
        coldLoadsByModel: [ModelName: Int], evictionsByModel: [ModelName: Int],
        parallelDiscovery: ParallelSlotDiscovery = ParallelSlotDiscovery(), runnerSizes: RunnerSizes = RunnerSizes(),
        reportedDurationScale: Double = 1.0, heldElsewhereBytes: Int64? = nil, firstTokenSeconds: [ModelName: Double] = [:],
        loadsLookStuck: Bool = false, runnerContexts: RunnerContexts = RunnerContexts(), ollamaVersion: String? = nil
    ) {
        self.index = index
        fixed = Fixed(
            id: id, config: config, pulled: pulled, loaded: loaded, loading: loading, inFlight: inFlight, lastUsed: lastUsed,
            learnedLoadSecondsPerGB: learnedLoadSecondsPerGB, serviceSeconds: serviceSeconds, coldLoadsStarted: coldLoadsStarted,
            lastProbe: lastProbe, loadedAt: loadedAt, observedLimits: observedLimits, coldLoadsByModel: coldLoadsByModel,
            evictionsByModel: evictionsByModel, draining: draining, comebacksAwaitingDrain: comebacksAwaitingDrain,
            parallelDiscovery: parallelDiscovery, runnerSizes: runnerSizes, reportedDurationScale: reportedDurationScale,
            firstTokenSeconds: firstTokenSeconds, runnerContexts: runnerContexts, ollamaVersion: ollamaVersion)
        self.health = health
        self.heldElsewhereBytes = heldElsewhereBytes
        self.loadsLookStuck = loadsLookStuck
    }

    /// VRAM `model` takes once loaded (see `RunnerSizes`): as seen, else its weights plus overhead.
    public func runnerBytes(_ model: ModelName) -> Int64 {
        loaded[model]?.vramBytes ?? runnerSizes.bytes(of: model, weights: pulled[model]?.sizeBytes ?? 0)
    }

    /// Bytes of VRAM the loaded models take (draining ones included: they are still there).
    public var vramUsedBytes: Int64 {
        loaded.values.reduce(0) { $0 + $1.vramBytes } + draining.values.reduce(0) { $0 + $1.vramBytes }
    }

    public var name: String { config.name }
    public var url: NodeURL { config.url }
    public var weight: Int { config.weight }
    public var priority: Int { config.priority }
    /// Requests one loaded model serves at once (see `ParallelSlotDiscovery`).
    public var maxParallel: Int { parallelDiscovery.slots(configured: config) }
    /// Where `maxParallel` comes from (`ParallelSlotDiscovery.slotsSource`).
    public var maxParallelSource: String { parallelDiscovery.slotsSource(configured: config) }

    /// Models the node keeps loaded at once (see `ObservedLimits.maxLoadedModels`).
    public var maxLoadedModels: Int { observedLimits.maxLoadedModels(configured: config) }

    /// Where `maxLoadedModels` comes from (see `ObservedLimits.maxLoadedModelsSource`).
    public var maxLoadedModelsSource: String { observedLimits.maxLoadedModelsSource(configured: config) }

    /// Bytes of models that fit in VRAM (see `ObservedLimits.vramBudgetBytes`).
    public var vramBudgetBytes: Int64? { observedLimits.vramBudgetBytes(configured: config) }

    /// VRAM the capacity planner may fill: the budget, or where it is unknown, the most this node or
    /// another of unknown VRAM was seen holding at once (`heldElsewhereBytes`), once this one has
    /// held a model. Without it a farm configured by URL alone kept its first-minute layout for good
    /// (the planner stayed away from every node): 0.9 s p95 at half load against 0.26 s with `vramGB`.
    /// Letting it fill a quarter more than a node held made it load large models that did not fit
    /// after a popularity shift, and Ollama swapped them in turn (p95 up to 16 s a minute); a node
    /// seen holding nothing gets no planned copy.
    public var plannableVRAMBytes: Int64? { plannableVRAM?.bytes }

    /// The budget and its test (see `VRAMFit`).
    public var vramFit: VRAMFit? { observedLimits.vramFit(configured: config) }

    /// `plannableVRAMBytes` with its test: a total the node or a like node held is a plain sum.
    public var plannableVRAM: VRAMFit? {
        if let fit = vramFit { return fit }
        guard let held = observedLimits.residentBytes else { return nil }
        return VRAMFit(bytes: held > 0 ? max(held, heldElsewhereBytes ?? 0) : held, isPhysical: false)
    }

    public func hasPulled(_ model: ModelName) -> Bool { pulled[model] != nil }
    public func isLoaded(_ model: ModelName) -> Bool { loaded[model] != nil }
    public func isLoading(_ model: ModelName) -> Bool { loading[model] != nil }
    public func awaitsComeback(_ model: ModelName) -> Bool { comebacksAwaitingDrain.contains(model) }
    /// Places the loaded-model cap counts: copies loaded, loading, and draining for a planned load.
    public var placesTaken: Int { loaded.count + loading.count + draining.count }
    /// A copy of `model` here warm, loading, or coming back once a draining copy is gone: what a
    /// request for it may join rather than load it anew.
    public func hasCopy(_ model: ModelName) -> Bool { isLoaded(model) || isLoading(model) || awaitsComeback(model) }
    /// A copy of `model` here (`hasCopy`) whose runner Ollama would reload for a request asking
    /// `contextLength` (`RunnerContexts`).
    /// `farmAutomatic`: the automatic length nodes like this one learned, for a node that has not.
    public func hasCopyForOtherContext(_ model: ModelName, contextLength: Int?, farmAutomatic: Int? = nil, atLeast: Bool = false) -> Bool {
        hasCopy(model) && !runnerContexts.serves(model, contextLength: contextLength, farmAutomatic: farmAutomatic, atLeast: atLeast)
    }
    public func inFlight(_ model: ModelName) -> Int { inFlight[model] ?? 0 }
    public var totalInFlight: Int { inFlight.values.reduce(0, +) }
}

/// A cold load in progress, with when it started and how long it was predicted to take.
public struct LoadInProgress: Sendable, Equatable {
    public var startedAt: Double
    public var predictedSeconds: Double

    public init(startedAt: Double, predictedSeconds: Double) {
        self.startedAt = startedAt
        self.predictedSeconds = predictedSeconds
    }

    public func remaining(at now: Double) -> Double {
        max(0, startedAt + predictedSeconds - now)
    }
}

/// The result of the most recent probe, for `/status`.
public struct ProbeOutcome: Sendable, Equatable {
    /// Wall-clock time of the probe, seconds since 1970.
    public var at: Double
    public var succeeded: Bool
    public var latencyMs: Double
    public var error: String?

    public init(at: Double, succeeded: Bool, latencyMs: Double, error: String?) {
        self.at = at
        self.succeeded = succeeded
        self.latencyMs = latencyMs
        self.error = error
    }
}
