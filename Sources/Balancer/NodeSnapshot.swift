/// A consistent copy of one node's state, taken in a single actor hop, that placement reasons over.
public struct NodeSnapshot: Sendable {
    /// Position in the node list this snapshot was taken from (valid for that list only).
    public let index: Int
    public let id: NodeID
    public let config: ClusterConfig.NodeConfig
    public internal(set) var health: NodeHealth
    public let pulled: [ModelName: PulledModel]
    public let loaded: [ModelName: LoadedModel]
    /// Loads TensorWall started that have not produced a first byte yet (invisible in `/api/ps`).
    public let loading: [ModelName: LoadInProgress]
    /// Copies a planned load unloads once their requests end: in VRAM still, but taking no request.
    public var draining: [ModelName: LoadedModel] = [:]
    public let inFlight: [ModelName: Int]
    /// When each model last had a request start here (monotonic seconds).
    public let lastUsed: [ModelName: Double]
    /// Learned seconds per GB of a cold load on this node (nil until a cold load was observed).
    public let learnedLoadSecondsPerGB: Double?
    /// Learned seconds from dispatch to the end of an answer, per model.
    public let serviceSeconds: [ModelName: Double]
    /// Cold loads TensorWall has started on this node.
    public let coldLoadsStarted: Int
    public let lastProbe: ProbeOutcome?
    /// When each loaded model was first seen loaded (monotonic seconds); missing for models loaded before TensorWall started.
    public let loadedAt: [ModelName: Double]
    /// What `/api/ps` showed about the node's limits, where it contradicts `cluster.json`.
    public let observedLimits: ObservedLimits
    /// Cold loads TensorWall started here, per model.
    public let coldLoadsByModel: [ModelName: Int]
    /// Models unloaded here to make room for a load, per model.
    public let evictionsByModel: [ModelName: Int]
    /// What probes found of the node's parallel slots, and whether another may be sent.
    public var parallelDiscovery = ParallelSlotDiscovery()
    /// What models take loaded here (the node's own claim checks read the same).
    public var runnerSizes = RunnerSizes()
    /// What TensorWall multiplies the node's reported durations by to put them on its own clock
    /// (`ReportedDurationScale`): 1 on a real Ollama.
    public var reportedDurationScale = 1.0
    /// The most another node of unknown VRAM was seen holding at once (filled in by `Cluster`). A farm
    /// usually runs one kind of GPU: what one node held, the others can hold, and the planner need not
    /// wait for each node to show it. A smaller node is found out by its first overflow, which gives it
    /// a budget of its own (`ObservedLimits.learn`). Without it, a farm configured by URL alone kept
    /// the hot model on two copies for minutes where each node had room for a third (1.15 s p95 at
    /// 75 % load, with runners 1 GB over their weights).
    public var heldElsewhereBytes: Int64?

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
