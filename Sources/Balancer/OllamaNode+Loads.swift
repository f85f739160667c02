// How a load is recorded before Ollama reports it, what it unloads, and whether it can start now.
extension OllamaNode {
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
    func loadFinished(_ model: ModelName, now: Double) {
        guard loading[model] != nil else { return }
        loading[model] = nil
        let size = runnerBytes(model)
        loaded[model] = LoadedModel(name: model, sizeBytes: size, vramBytes: size, expiresAt: nil)
        loadedAt[model] = now
    }

    /// A load unloads `model` here (TensorWall asks for it, or Ollama will do it to make room):
    /// placement stops counting on it at once.
    func evict(_ model: ModelName, now: Double) {
        guard loaded[model] != nil else { return }
        loaded[model] = nil
        loadedAt[model] = nil
        reloadedAt[model] = nil
        reloadsInPlace.remove(model)
        runnerContexts.forget(model)
        evictedAt[model] = now
        evictionsByModel[model, default: 0] += 1
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
