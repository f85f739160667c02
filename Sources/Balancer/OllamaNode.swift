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
    var pulled: [ModelName: PulledModel] = [:] { didSet { shownStateChanged() } }
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
    private var loadSpeed = LoadSpeedLearning() { didSet { shownStateChanged() } }
    /// Cold loads started here while another load was under way. Ollama loads one model at a time and
    /// its `load_duration` counts the wait for the loads ahead, so these teach nothing of the load
    /// rate: learned from them, a cold start's third load in line read 2.7 s/GB where loads take 1.5.
    private var loadsQueuedBehindOthers: Set<ModelName> = []
    /// Service and first-token times learned from this node's answers (`AnswerTimes`).
    private var answerTimes = AnswerTimes() { didSet { shownStateChanged() } }
    private var coldLoadsStarted = 0 { didSet { shownStateChanged() } }
    var lastProbe: ProbeOutcome? { didSet { shownStateChanged() } }
    var loadedAt: [ModelName: Double] = [:] { didSet { shownStateChanged() } }
    var observedLimits = ObservedLimits() { didSet { shownStateChanged() } }
    var runnerSizes = RunnerSizes() { didSet { shownStateChanged() } }
    private var coldLoadsByModel: [ModelName: Int] = [:] { didSet { shownStateChanged() } }
    var evictionsByModel: [ModelName: Int] = [:] { didSet { shownStateChanged() } }
    /// When TensorWall last unloaded each model here, so an older probe cannot bring it back.
    var evictedAt: [ModelName: Double] = [:]
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
    private var parallelDiscovery = ParallelSlotDiscovery() { didSet { shownStateChanged() } }
    /// Seconds here per second of the node's reported durations (1 on a real Ollama).
    private var reportedDurationScale = ReportedDurationScale() { didSet { shownStateChanged() } }
    /// The context length each runner here serves (`RunnerContexts`).
    var runnerContexts = RunnerContexts() { didSet { shownStateChanged() } }
    /// Requests in flight whose answer has begun, per model: they hold a slot on the node for sure.
    private var answering: [ModelName: Int] = [:]
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
            loadsLookStuck: loadsStuckSince != nil, runnerContexts: runnerContexts)
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
    }

    /// A load-only request of TensorWall's own carried a request's cold load of `model`, and it has
    /// ended after `seconds` (timed here, farm seconds): the model is loaded, and unless the load
    /// queued behind another, its time measures the node's load speed. (The request's own
    /// `load_duration` may count another model's load that Ollama took before the request attached.)
    public func loadCarried(_ model: ModelName, seconds: Double, now: Double) {
        defer { currentSnapshot() }
        loadFinished(model, now: now)
        let queuedBehindOthers = loadsQueuedBehindOthers.remove(model) != nil
        if !queuedBehindOthers, let size = pulled[model]?.sizeBytes {
            loadSpeed.learn(timedSeconds: seconds, gigabytes: Double(size) / 1e9)
        }
    }

    /// Whatever was loading of `model` is loaded now.
    private func loadFinished(_ model: ModelName, now: Double) {
        guard loading[model] != nil else { return }
        loading[model] = nil
        let size = runnerBytes(model)
        loaded[model] = LoadedModel(name: model, sizeBytes: size, vramBytes: size, expiresAt: nil)
        loadedAt[model] = now
    }

    /// A load unloads `model` here (TensorWall asks for it, or Ollama will do it to make room):
    /// placement stops counting on it at once.
    private func evict(_ model: ModelName, now: Double) {
        guard loaded[model] != nil else { return }
        loaded[model] = nil
        loadedAt[model] = nil
        runnerContexts.forget(model)
        evictedAt[model] = now
        evictionsByModel[model, default: 0] += 1
    }

    /// What giving back a slot changed in what is known of the node, for the operator's log.
    public struct ReleaseEffects: Sendable, Equatable {
        /// More slots per model, proved by a parallel probe, or fewer, seen in Ollama's own queue (`SlotWaitEvidence`).
        public var parallelSlots: ParallelSlotChange?
        /// The node's `ReportedDurationScale.factor`, when this answer changed it.
        public var reportedDurationScale: Double?
    }

    /// Gives back a slot and learns from how the request went.
    @discardableResult
    public func release(_ model: ModelName, outcome: RequestOutcome, now: Double) -> ReleaseEffects {
        defer { currentSnapshot() }
        var outcome = outcome
        var effects = ReleaseEffects()
        let observedSeconds = outcome.lastByteAt.flatMap { last in outcome.dispatchedAt.map { last - $0 } }
        if outcome.succeeded, let total = outcome.nodeTotalSeconds, let observedSeconds {
            let before = reportedDurationScale.factor
            reportedDurationScale.learn(observedSeconds: observedSeconds, reportedSeconds: total)
            let after = reportedDurationScale.factor
            // A scale that drifts within a few percent is the same finding, not news.
            if (after == 1) != (before == 1) || abs(after / before - 1) > 0.25 {
                effects.reportedDurationScale = after
                parallelDiscovery.clockChanged()
            }
        }
        loadSpeed.rescale(reportedDurationScale.isKnown ? reportedDurationScale.factor : nil)
        // Until the node's clock is known, each answer's own ratio stands in: the cold start's loads
        // come first, and reported as a fifth of themselves they left phi3:mini's service at 5 s, and
        // requests were refused for a predicted wait of 26 s behind 9.
        let durationFactor = reportedDurationScale.factor(forAnswerObserved: observedSeconds, reported: outcome.nodeTotalSeconds)
        outcome.takeNodeDurations(scaledBy: durationFactor, now: now)
        var change: ParallelSlotChange?
        switch outcome.answerStart {
        case .notBegun: break
        case .reported: if let started = answering[model] { answering[model] = started > 1 ? started - 1 : nil }
        case .unreported: loadFinished(model, now: now)
        }
        if outcome.wasParallelProbe {
            let known = parallelDiscovery.slots(configured: config)
            let proven = parallelDiscovery.probeEnded(model, firstByteAt: outcome.firstByteAt, now: now).flatMap { $0 > known ? $0 : nil }
            change = proven.map(ParallelSlotChange.proved)
            // A probe that waited in Ollama's queue measured that wait, not the model's service.
            if proven == nil { outcome.heldSlotForAnswer = false }
        } else {
            let known = parallelDiscovery.slots(configured: config)
            var waited: SlotWaitReport?
            if let running = outcome.runningWhenSent, let uncounted = outcome.nodeSlotWaitSeconds, let sentAt = outcome.dispatchedAt {
                let generation = max(0, (outcome.nodeTotalSeconds ?? 0) - (outcome.loadSeconds ?? 0) - uncounted)
                waited = SlotWaitReport(running: running, uncountedSeconds: uncounted, sentAt: sentAt, generationSeconds: generation)
            }
            let endedAt = min(now, outcome.lastByteAt ?? now)
            if let lowered = parallelDiscovery.requestEnded(model, endedAt: endedAt, waited: waited, known: known) {
                change = .lowered(lowered)
            }
        }
        let remaining = max(0, (inFlight[model] ?? 0) - 1)
        inFlight[model] = remaining == 0 ? nil : remaining
        lastUsed[model] = now
        // When the model became ready here, as known before this answer's end.
        let readyAt = loadedAt[model]
        if outcome.succeeded {
            loadFinished(model, now: now)
            if loaded[model] == nil && draining[model] == nil {
                let size = runnerBytes(model)
                loaded[model] = LoadedModel(name: model, sizeBytes: size, vramBytes: size, expiresAt: nil)
                loadedAt[model] = now
            }
            let queuedBehindOthers = outcome.startedColdLoad && loadsQueuedBehindOthers.remove(model) != nil
            if outcome.startedColdLoad, !outcome.loadCarried, !queuedBehindOthers, let load = outcome.loadSeconds,
                let size = pulled[model]?.sizeBytes
            {
                if outcome.loadTimedHere {
                    loadSpeed.learn(timedSeconds: load, gigabytes: Double(size) / 1e9)
                } else {
                    loadSpeed.learn(reportedSeconds: load / durationFactor, gigabytes: Double(size) / 1e9, ownFactor: durationFactor)
                }
            }
            answerTimes.learn(from: outcome, model: model, readyAt: readyAt, slots: parallelDiscovery.slots(configured: config), now: now)
        } else if remaining == 0, loading[model] != nil {
            loading[model] = nil  // the load we started failed or was abandoned with its requests
        }
        effects.parallelSlots = change
        return effects
    }

    /// Whether a load of `model` can start at once: it fits the loaded-model cap and the VRAM (the
    /// limits placement reads from the snapshot) after unloading `evicting` and any other idle model.
    /// Two requests that chose this node from the same snapshot both counted on the room one victim
    /// left; Ollama would hold the second load until a busy model finished, and at 300 % load that
    /// held qwen2.5's queue until every request in it timed out. A model larger than the whole VRAM
    /// spills to the CPU instead of waiting, so only the cap holds it back.
    ///
    /// Where the VRAM is unknown, a load may start beside another under way and busy models only within
    /// what the node was seen holding (`stacksBlindly`): Ollama loads one at a time anyway, and two
    /// loads chosen from one snapshot stacked past a node's VRAM made Ollama hold the second until busy
    /// models finished (a minute at 9.2 s p95, 10 unloads, at 75 % load with runners 1 GB over their weights).
    func fitsWithoutWaiting(_ model: ModelName, evicting: [ModelName]) -> Bool {
        let size = runnerBytes(model)
        let known = observedLimits.vramFit(configured: config)
        let budget = known.flatMap { size <= $0.bytes ? $0 : nil }
        // What must stay: the busy models, those draining for another load, and the loads under way;
        // every idle model can be unloaded.
        let busy =
            Array(loaded.filter { !evicting.contains($0.key) && (inFlight[$0.key] ?? 0) > 0 }.values)
            + draining.filter { !evicting.contains($0.key) }.values
        let loadingBytes = loading.keys.reduce(Int64(0)) { $0 + runnerBytes($1) }
        let count = busy.count + loading.count + 1
        let staying = busy.reduce(loadingBytes) { $0 + $1.vramBytes }
        guard count <= observedLimits.maxLoadedModels(configured: config) else { return false }
        if let budget { return budget.admits(size, beside: staying) }
        return known != nil
            || !Self.stacksBlindly(used: staying + size, loading: loading.count, busy: busy.count, limits: observedLimits)
    }

    /// A load beside `loading` others and `busy` models, on a node of unknown VRAM, that needs more
    /// than the node was ever seen holding (see `fitsWithoutWaiting`; `CostModel.estimate` asks the
    /// same). With nothing busy Ollama makes room at once, so the first loads of a cold farm still
    /// queue in Ollama side by side: held back here, the hot model's first load waited behind other
    /// models' new requests, which took each node as its load finished (14 refused in the first minute).
    static func stacksBlindly(used: Int64, loading: Int, busy: Int, limits: ObservedLimits) -> Bool {
        loading > 0 && busy > 0 && used > (limits.residentBytes ?? 0)
    }

    /// VRAM `model` will take loaded here (see `RunnerSizes`).
    func runnerBytes(_ model: ModelName) -> Int64 {
        runnerSizes.bytes(of: model, weights: pulled[model]?.sizeBytes ?? 0)
    }

    /// How long a load of `model` takes here, by the load speed learned so far.
    func predictedLoadSeconds(_ model: ModelName) -> Double {
        CostModel().predictedLoadSeconds(
            gigabytes: Double(pulled[model]?.sizeBytes ?? runnerBytes(model)) / 1e9, learnedSecondsPerGB: loadSpeed.secondsPerGB)
    }

    /// Records a cold load and the eviction Ollama will make for it, so placement sees the node as
    /// it will be rather than as the last probe left it.
    func startLoad(_ model: ModelName, predictedSeconds: Double, now: Double) {
        if loading.keys.contains(where: { $0 != model }) {
            loadsQueuedBehindOthers.insert(model)
        } else {
            loadsQueuedBehindOthers.remove(model)
        }
        loading[model] = LoadInProgress(startedAt: now, predictedSeconds: predictedSeconds)
        loadsAwaitingUnloads.remove(model)
        coldLoadsStarted += 1
        coldLoadsByModel[model, default: 0] += 1
        for victim in CostModel.evictionVictims(
            for: runnerBytes(model), loaded: loaded, loadingSizes: loading.keys.filter { $0 != model }.map(runnerBytes),
            inFlight: inFlight, lastUsed: lastUsed, maxLoadedModels: observedLimits.maxLoadedModels(configured: config),
            fit: observedLimits.vramFit(configured: config))
        where (inFlight[victim] ?? 0) == 0 {
            evict(victim, now: now)
        }
    }
}
