import Synchronization

/// One Ollama server as the balancer knows it: what is pulled, loaded and loading, what is running
/// on it now, what it has taught us about its speed, and whether it answers. All changes to a node
/// go through this actor, so the in-flight count cannot drift between a placement and the response
/// that ends it.
public actor OllamaNode {
    public nonisolated let id: NodeID
    /// Counts changes to what a snapshot shows (each such property's `didSet` adds one), so that a
    /// published snapshot is known to be current without a hop to this actor.
    private nonisolated let shownStateChanges = Atomic<UInt64>(0)
    /// The last snapshot built, with the count of changes it shows. Placement reads every node's state
    /// for every request; from an event loop each actor hop is two jobs through the loop's queue (the
    /// runtime never switches to an actor inline from a task executor), and on a 64-node farm those
    /// hops were most of a request's placement CPU.
    private nonisolated let published = Mutex<(snapshot: NodeSnapshot, changes: UInt64)?>(nil)
    /// Where the node listens; a node that moves is another node, so this never changes.
    public nonisolated let url: NodeURL
    /// Weight, priority and limits: a reload may edit them without losing what was learned.
    public private(set) var config: ClusterConfig.NodeConfig { didSet { shownStateChanged() } }
    var health = NodeHealth.unknown { didSet { shownStateChanged() } }
    var pulled: [ModelName: PulledModel] = [:] {
        didSet {
            shownStateChanged()
            pulledNames.withLock { $0 = Set(pulled.keys) }
        }
    }
    /// `pulled`'s names, read without a hop (`hasPulled`): every request asks whether any node holds
    /// its model before its demand is counted.
    private nonisolated let pulledNames = Mutex<Set<ModelName>>([])
    var loaded: [ModelName: LoadedModel] = [:] { didSet { shownStateChanged() } }
    var loading: [ModelName: LoadInProgress] = [:] { didSet { shownStateChanged() } }
    /// Copies a planned load unloads once their requests end (see `tryAcquire(drainingBusy:)`):
    /// still in the node's VRAM, but taking no new request.
    var draining: [ModelName: LoadedModel] = [:] { didSet { shownStateChanged() } }
    /// Draining copies whose model a planned load brings back here right after it
    /// (`expectComebacks`), until that load is claimed (`claimComeback`) or given up.
    var comebacksAwaitingDrain: Set<ModelName> = [] { didSet { shownStateChanged() } }
    /// Loads whose victims TensorWall has still to unload (draining, or the unloads not yet sent).
    /// A request that joins such a load waits (`holdsJoinersBack`): sent at once, it would make
    /// Ollama start the load itself and make room with a model of its own choosing, the very thing
    /// the unloads are for. At 125 % load such a joiner started `gemma2:9b` while `llama3.1:8b`
    /// drained; its first byte marked the load done, and the planner gave the node another load
    /// while the planned one was still to come.
    var loadsAwaitingUnloads: Set<ModelName> = []
    var inFlight: [ModelName: Int] = [:] { didSet { shownStateChanged() } }
    var lastUsed: [ModelName: Double] = [:] { didSet { shownStateChanged() } }
    var loadSpeed = LoadSpeedLearning() { didSet { shownStateChanged() } }
    /// Cold loads started here while another load was under way. Ollama loads one model at a time and
    /// its `load_duration` counts the wait for the loads ahead, so these teach nothing of the load
    /// rate: learned from them, a cold start's third load in line read 2.7 s/GB where loads take 1.5.
    var loadsQueuedBehindOthers: Set<ModelName> = []
    /// Service and first-token times learned from this node's answers (`AnswerTimes`).
    var answerTimes = AnswerTimes() { didSet { shownStateChanged() } }
    var coldLoadsStarted = 0 { didSet { shownStateChanged() } }
    var lastProbe: ProbeOutcome? { didSet { shownStateChanged() } }
    /// What `/api/version` last said (`ProbeReport.version`).
    var ollamaVersion: String? { didSet { shownStateChanged() } }
    var loadedAt: [ModelName: Double] = [:] { didSet { shownStateChanged() } }
    var observedLimits = ObservedLimits() { didSet { shownStateChanged() } }
    var runnerSizes = RunnerSizes() { didSet { shownStateChanged() } }
    var coldLoadsByModel: [ModelName: Int] = [:] { didSet { shownStateChanged() } }
    var evictionsByModel: [ModelName: Int] = [:] { didSet { shownStateChanged() } }
    /// When TensorWall last unloaded each model here, so an older probe cannot bring it back.
    var evictedAt: [ModelName: Double] = [:]
    /// Runners `/api/ps` lists under a name this node no longer holds, by that name, with the model
    /// they are counted as: Ollama lists a runner under the name that loaded it, and when that model
    /// (one made `FROM` another) is deleted, the runner goes on serving the model it shares.
    var runnersListedAs: [ModelName: ModelName] = [:]
    /// Loaded models a request made Ollama reload for another context length (`runnerAsked`), until
    /// its answer begins or ends (`reloadEnded`).
    var reloadsInPlace: Set<ModelName> = []
    /// When each model's last reload in place was over. Ollama unloads the runner before loading it
    /// again, so a probe sent meanwhile shows the model gone; applied after the request ended (a
    /// busy host), it unloaded the model in TensorWall's eyes, and the next request, sent as a cold
    /// load without the runner's length, made Ollama reload it once more for the default.
    var reloadedAt: [ModelName: Double] = [:]
    /// The last load TensorWall unloaded models here for, and when. Ollama may pick a victim of its
    /// own before those unloads land (a model still finishing its last answer there), so a model
    /// vanishing while that load is under way says nothing of the VRAM: read as an overflow, one
    /// such race planned a 16 GB node up to 11 GB for half an hour.
    var lastLoadAfterUnloads: (model: ModelName, at: Double)?
    /// When a load here last ran far past its prediction without an end (`loadLooksStuck`); nil
    /// while loads here are trusted. Ollama's scheduler can hang on a load while loaded models go on
    /// answering and every probe passes (ollama/ollama issue 17408): health alone never sees it.
    var loadsStuckSince: Double? { didSet { shownStateChanged() } }
    /// How long a node whose loads looked stuck gets no load before one may try again, when it has not
    /// left service meanwhile (a restart is what cures the hang).
    public static let stuckLoadsRetrySeconds = 600.0
    /// How many times the probes have taken the node out of service (`loadLooksStuck`).
    public private(set) var timesOutOfService = 0
    var parallelDiscovery = ParallelSlotDiscovery() { didSet { shownStateChanged() } }
    /// Seconds here per second of the node's reported durations (1 on a real Ollama).
    var reportedDurationScale = ReportedDurationScale() { didSet { shownStateChanged() } }
    /// The context length each runner here serves (`RunnerContexts`).
    var runnerContexts = RunnerContexts() { didSet { shownStateChanged() } }
    /// Requests in flight whose answer has begun, per model: they hold a slot on the node for sure.
    var answering: [ModelName: Int] = [:]
    /// When the last probe report was applied (cluster seconds).
    var lastReportAt = -Double.infinity

    /// Weight of a new load in the learned load speed.
    static let learningRate = 0.3
    /// A `load_duration` above this means the request waited for a real load, not just a warm handover.
    static let coldLoadThresholdSeconds = 0.25

    public init(config: ClusterConfig.NodeConfig) {
        self.id = config.id
        self.url = config.url
        self.config = config
    }

    /// Takes a reload's edits to weight, priority and limits; the name and URL stay (they are the node).
    public func update(_ config: ClusterConfig.NodeConfig) {
        precondition(config.id == id && config.url == url, "a node's name and URL are its identity")
        self.config = config
    }

    /// - Parameter index: the node's position in the list placement is looking at right now.
    public func snapshot(index: Int) -> NodeSnapshot {
        var snapshot = currentSnapshot()
        snapshot.index = index
        return snapshot
    }

    /// Whether the last probe found `model` pulled here.
    public nonisolated func hasPulled(_ model: ModelName) -> Bool { pulledNames.withLock { $0.contains(model) } }

    /// The published snapshot, when nothing it shows has changed since it was built; nil when only a
    /// hop to the actor (`snapshot(index:)`) can tell. A change under way while this reads (its
    /// property set, its count not yet) is read as not yet made, as a hop queued just before it would.
    public nonisolated func publishedSnapshot(index: Int) -> NodeSnapshot? {
        guard let published = published.withLock({ $0 }), published.changes == shownStateChanges.load(ordering: .acquiring) else {
            return nil
        }
        var snapshot = published.snapshot
        snapshot.index = index
        return snapshot
    }

    private nonisolated func shownStateChanged() {
        shownStateChanges.wrappingAdd(1, ordering: .releasing)
    }

    /// The snapshot of the state now, built only when something it shows has changed, and published.
    @discardableResult
    func currentSnapshot() -> NodeSnapshot {
        let changes = shownStateChanges.load(ordering: .relaxed)  // every change is made on this actor
        if let published = published.withLock({ $0 }), published.changes == changes { return published.snapshot }
        let snapshot = builtSnapshot()
        published.withLock { $0 = (snapshot, changes) }
        return snapshot
    }

    /// A new snapshot of the state now (at index 0), whatever was published.
    func builtSnapshot() -> NodeSnapshot {
        NodeSnapshot(
            index: 0, id: id, config: config, health: health, pulled: pulled, loaded: loaded, loading: loading, draining: draining,
            comebacksAwaitingDrain: comebacksAwaitingDrain, inFlight: inFlight,
            lastUsed: lastUsed, learnedLoadSecondsPerGB: loadSpeed.secondsPerGB, serviceSeconds: answerTimes.serviceSeconds,
            coldLoadsStarted: coldLoadsStarted, lastProbe: lastProbe, loadedAt: loadedAt, observedLimits: observedLimits,
            coldLoadsByModel: coldLoadsByModel, evictionsByModel: evictionsByModel, parallelDiscovery: parallelDiscovery,
            runnerSizes: runnerSizes, reportedDurationScale: reportedDurationScale.factor, firstTokenSeconds: answerTimes.firstTokenSeconds,
            loadsLookStuck: loadsStuckSince != nil, runnerContexts: runnerContexts, ollamaVersion: ollamaVersion)
    }

    /// Whether the probes have taken the node out of service: a request still waiting on it for a
    /// first byte is better sent elsewhere than left to its head timeout (`Gateway.finishOpening`).
    public var isOutOfService: Bool { health == .unhealthy }

    public func setHealth(_ health: NodeHealth) {
        if health == .unhealthy && self.health != .unhealthy { timesOutOfService += 1 }
        // A node back from being down may have been restarted with other settings: find its slots again.
        if health == .healthy && self.health == .unhealthy {
            parallelDiscovery = ParallelSlotDiscovery()
            reportedDurationScale = ReportedDurationScale()
            loadsStuckSince = nil  // a restart ends a hang in Ollama's scheduler
            // And its limits again: a node restarted with a lower OLLAMA_MAX_LOADED_MODELS, once seen
            // holding more models, was never read as capped, and each load past the cap cost an
            // unload Ollama chose. A node that was only unreachable shows its runners at the next probe.
            observedLimits = ObservedLimits()
        }
        self.health = health
    }

    /// Takes a slot for `model` if the claim still holds. A cold load may name the models to unload
    /// for it (`evicting`); the claim fails if any of them is busy now, or if the load no longer fits
    /// once they and the idle models are gone: another request's load took the room it counted on.
    /// With `drainingBusy` (a planned load), a busy victim does not fail the claim: it drains. It
    /// takes no new request from now on, and the load waits until its requests end
    /// (`isDraining`, `finishDrain`). On a busy farm a copy is rarely idle at the moment a planner
    /// round looks: after a popularity shift the move a hot model needed waited 60 s for three
    /// models on one node to be idle at once.
    public func tryAcquire(
        _ model: ModelName, claim: SlotClaim, now: Double, evicting: [ModelName] = [], drainingBusy: Bool = false
    ) -> Bool {
        tryAcquireCounting(model, claim: claim, now: now, evicting: evicting, drainingBusy: drainingBusy) != nil
    }

    /// `tryAcquire`, returning how many requests for the model were running here when the slot was
    /// taken (nil when the claim failed): what `RequestOutcome.runningWhenSent` reports back.
    /// - Parameter loadsSeen: for a cold load, how many loads were under way here when it was priced.
    ///   With more now, the claim fails and the request looks again: Ollama loads one model at a time,
    ///   so its load would wait for one it did not count. Two requests woken as a node left service
    ///   both priced gpu2 with no load ahead and both loaded there, 7 s and 8 s one behind the other,
    ///   while two other nodes started none.
    public func tryAcquireCounting(
        _ model: ModelName, claim: SlotClaim, now: Double, evicting: [ModelName] = [], drainingBusy: Bool = false,
        loadsSeen: Int? = nil
    ) -> Int? {
        defer { currentSnapshot() }  // the next request's placement reads it without a hop
        guard health.isInService else { return nil }
        if loadsStuckSince != nil, claim == .joinLoad || claim.isColdLoad { return nil }
        if case .coldLoad = claim, loaded[model] == nil, loading[model] == nil {
            guard fitsWithoutWaiting(model, evicting: evicting), loading.count <= loadsSeen ?? .max else { return nil }
        }
        if !evicting.isEmpty {
            guard case .coldLoad = claim, evicting.allSatisfy({ loading[$0] == nil && draining[$0] == nil }),
                drainingBusy || evicting.allSatisfy({ (inFlight[$0] ?? 0) == 0 })
            else { return nil }
            for victim in evicting {
                if (inFlight[victim] ?? 0) > 0, let copy = loaded.removeValue(forKey: victim) {
                    draining[victim] = copy
                } else {
                    evict(victim, now: now)
                }
            }
            lastLoadAfterUnloads = (model, now)
        }
        let count = inFlight[model] ?? 0
        let slots = parallelDiscovery.slots(configured: config)
        switch claim {
        case .warmSlot:
            guard loaded[model] != nil, count < slots else { return nil }
        case .joinLoad:
            guard loading[model] != nil, count < slots else { return nil }
        case .parallelProbe:
            // Every request counted must be running there: one still waiting for Ollama (behind a load,
            // say) would let the probe pass it and take its slot, which proves nothing.
            guard loaded[model] != nil, loading[model] == nil, count == slots, (answering[model] ?? 0) >= count,
                parallelDiscovery.mayProbe(model, running: count, now: now, configured: config)
            else { return nil }
            parallelDiscovery.probeSent(model, running: count, now: now)
        case .coldLoad(let predicted):
            guard loaded[model] == nil, loading[model] == nil else { return nil }
            startLoad(model, predictedSeconds: predicted, now: now)
            if !evicting.isEmpty { loadsAwaitingUnloads.insert(model) }
        case .any(let predicted):
            if loaded[model] == nil && loading[model] == nil { startLoad(model, predictedSeconds: predicted, now: now) }
        }
        inFlight[model] = count + 1
        lastUsed[model] = now
        if claim != .parallelProbe { parallelDiscovery.requestSent(model, now: now) }
        return count
    }

    /// The upstream answer has started: the request holds a slot there, and whatever was loading is
    /// loaded now. Called once per request, which then tells `release` so (`answerStart`).
    public func firstByteArrived(_ model: ModelName, now: Double) {
        defer { currentSnapshot() }
        answering[model, default: 0] += 1
        loadFinished(model, now: now)
        reloadEnded(model, now: now)
    }
}
