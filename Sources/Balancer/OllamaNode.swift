/// One Ollama server as the balancer knows it: what is pulled, what is loaded, what is running on
/// it now and whether it answers. All changes to a node go through this actor, so the in-flight
/// count cannot drift between a placement and the response that ends it.
public actor OllamaNode {
    public nonisolated let index: Int
    public nonisolated let config: ClusterConfig.NodeConfig
    private var health = NodeHealth.unknown
    private var pulled: [ModelName: PulledModel] = [:]
    private var loaded: [ModelName: LoadedModel] = [:]
    private var inFlight: [ModelName: Int] = [:]
    private var lastProbe: ProbeOutcome?

    public init(index: Int, config: ClusterConfig.NodeConfig) {
        self.index = index
        self.config = config
    }

    public func snapshot() -> NodeSnapshot {
        NodeSnapshot(
            index: index, name: config.name, url: config.url, weight: config.weight, priority: config.priority,
            maxParallel: config.maxParallel, health: health, pulled: pulled, loaded: loaded, inFlight: inFlight,
            lastProbe: lastProbe)
    }

    public func setHealth(_ health: NodeHealth) {
        self.health = health
    }

    /// Replaces the inventory with what a probe saw. In-flight counts are ours and are kept.
    public func apply(_ report: ProbeReport, outcome: ProbeOutcome) {
        pulled = Dictionary(report.pulled.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var nowLoaded = Dictionary(report.loaded.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // A model serving requests right now is loaded even if the probe raced with its load.
        for (model, count) in inFlight where count > 0 && nowLoaded[model] == nil {
            if let known = loaded[model] { nowLoaded[model] = known }
        }
        loaded = nowLoaded
        lastProbe = outcome
    }

    public func recordProbeFailure(_ outcome: ProbeOutcome) {
        lastProbe = outcome
    }

    /// Takes a slot for `model` if the node still qualifies; `requireWarmSlot` re-checks a warm
    /// choice so two concurrent placements cannot both take the last free slot.
    public func tryAcquire(_ model: ModelName, requireWarmSlot: Bool) -> Bool {
        guard health == .healthy else { return false }
        if requireWarmSlot {
            guard loaded[model] != nil, (inFlight[model] ?? 0) < config.maxParallel else { return false }
        }
        inFlight[model, default: 0] += 1
        return true
    }

    /// Gives back a slot. A request that got an answer proves the model is loaded here now.
    public func release(_ model: ModelName, servedSuccessfully: Bool) {
        if let count = inFlight[model] {
            if count <= 1 { inFlight[model] = nil } else { inFlight[model] = count - 1 }
        }
        if servedSuccessfully && loaded[model] == nil {
            let size = pulled[model]?.sizeBytes ?? 0
            loaded[model] = LoadedModel(name: model, sizeBytes: size, vramBytes: size, expiresAt: nil)
        }
    }
}
