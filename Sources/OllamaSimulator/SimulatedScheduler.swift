/// Ollama's scheduler as a balancer sees it: loaded runners with `numParallel` slots each, one per
/// weights file as Ollama keys them (`ModelPath`: a model made from another shares its runner, listed
/// in `/api/ps` under the name that loaded it),
/// loads serialised per node, eviction of the least recently used idle runner when the
/// loaded-model cap or VRAM is reached, and keep-alive expiry once a runner goes idle.
actor SimulatedScheduler {
    struct Runner {
        var model: SimulatedModel
        var activeRequests = 0
        var lastUsed: ContinuousClock.Instant
        var expiresAt: ContinuousClock.Instant?
        var keepAlive: Double
        /// The `num_ctx` the runner was loaded with (the default when its request set none).
        var contextLength: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Recently processed sequences, most recent last: one per parallel slot, as llama.cpp keeps them.
        var promptCache: [String] = []
    }

    private let configuration: SimulatorConfiguration
    private var runners: [String: Runner] = [:]
    private var loadInProgress = false
    private var loadQueue: [CheckedContinuation<Void, Never>] = []
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var loadCount = 0
    /// Models the scheduler unloaded on its own to make room for another. An unload asked for
    /// (`keep_alive: 0`) is not one: the request's release has already unloaded the model when `unload` runs.
    private(set) var evictionCount = 0
    /// Cold loads per model name.
    private(set) var loadsByModel: [String: Int] = [:]
    /// Real seconds the last request that loaded its model waited for the load (a busy host stretches it).
    private(set) var lastLoadSeconds: Double?
    /// Loads given up because the request that started them went away before they finished, as
    /// Ollama aborts them (`client connection closed before llama-server finished loading, aborting load`).
    private(set) var abortedLoadCount = 0

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
    }

    func seconds(_ simulated: Double) -> Duration { .nanoseconds(Int64(simulated * configuration.timeScale * 1e9)) }

    /// Takes a slot on `model`'s runner, loading it first if needed; returns the load duration in ns
    /// (time until the runner was handed over, as Ollama reports it), or nil when the request went
    /// away while its load ran, which Ollama then aborts.
    func acquire(_ model: SimulatedModel, keepAlive: Double?, contextLength asked: Int? = nil) async -> Int64? {
        let started = ContinuousClock.now
        // Ollama fills in the Modelfile's length, else its default, for a request that sets none
        // (asking for it is no change), and caps it at the trained length.
        let contextLength = min(asked ?? model.modelfileContextLength ?? configuration.defaultContextLength, model.trainedContextLength)
        expireIdle()
        // Ollama reloads a runner loaded with other options than the request's (`needsReload`,
        // `num_ctx` among them) once the requests it is running have ended.
        while let runner = runners[model.weights], runner.contextLength != contextLength {
            if runner.activeRequests > 0 {
                await withCheckedContinuation { idleWaiters.append($0) }
            } else {
                runners[model.weights] = nil
            }
        }
        let loads = runners[model.weights] == nil
        if loads {
            guard await load(model, contextLength: contextLength) else { return nil }
        }
        runners[model.weights]!.activeRequests += 1
        runners[model.weights]!.expiresAt = nil
        if let keepAlive { runners[model.weights]!.keepAlive = keepAlive }
        let loadNanos = OllamaSimulator.nanos(started.duration(to: .now))
        if loads { lastLoadSeconds = Double(loadNanos) / 1e9 }
        if runners[model.weights]!.activeRequests > configuration.numParallel {
            await withCheckedContinuation { runners[model.weights]!.waiters.append($0) }
        }
        return loadNanos
    }

    func release(_ model: SimulatedModel) {
        guard var runner = runners[model.weights] else { return }
        runner.activeRequests -= 1
        runner.lastUsed = .now
        if !runner.waiters.isEmpty {
            runner.waiters.removeFirst().resume()
        }
        if runner.activeRequests == 0 {
            if runner.keepAlive == 0 {
                runners[model.weights] = nil
                wakeIdleWaiters()
                return
            }
            runner.expiresAt = runner.keepAlive < 0 ? nil : .now + seconds(runner.keepAlive)
        }
        runners[model.weights] = runner
        if runner.activeRequests == 0 { wakeIdleWaiters() }
    }

    /// Loads `model` (or waits for the load in progress and re-checks), evicting as needed; false
    /// when the request that started the load went away before it finished (the load is aborted).
    private func load(_ model: SimulatedModel, contextLength: Int) async -> Bool {
        while loadInProgress {
            await withCheckedContinuation { loadQueue.append($0) }
        }
        if runners[model.weights] != nil {
            // Someone loaded it while we queued: pass the turn on, or the queue behind us waits forever.
            if !loadQueue.isEmpty { loadQueue.removeFirst().resume() }
            return true
        }
        loadInProgress = true
        defer {
            loadInProgress = false
            if !loadQueue.isEmpty { loadQueue.removeFirst().resume() }
        }
        while needsEviction(for: model) {
            expireIdle()
            guard needsEviction(for: model) else { break }
            if let victim = idleVictim() {
                runners[victim.model.weights] = nil
                evictionCount += 1
                continue
            }
            if runners.isEmpty { break }
            await withCheckedContinuation { idleWaiters.append($0) }
        }
        let gigabytes = Double(model.sizeBytes) / 1e9
        try? await Task.sleep(for: seconds(configuration.loadBaseSeconds + gigabytes * configuration.loadSecondsPerGB))
        if Task.isCancelled {
            abortedLoadCount += 1
            return false
        }
        loadCount += 1
        loadsByModel[model.name, default: 0] += 1
        runners[model.weights] = Runner(
            model: model, lastUsed: .now, expiresAt: nil, keepAlive: configuration.keepAliveSeconds, contextLength: contextLength)
        return true
    }

    private func needsEviction(for model: SimulatedModel) -> Bool {
        if runners.count >= configuration.maxLoadedModels { return true }
        if let vram = configuration.vramBytes, !runners.isEmpty {
            let used = runners.values.reduce(Int64(0)) { $0 + runnerBytes($1.model) }
            if let share = configuration.loadFitShareOfFree { return Double(runnerBytes(model)) > share * Double(vram - used) }
            return used + runnerBytes(model) > vram
        }
        return false
    }

    /// The idle runner the configured eviction order unloads first.
    private func idleVictim() -> Runner? {
        let idle = runners.values.filter { $0.activeRequests == 0 }
        switch configuration.evictionOrder {
        case .leastRecentlyUsed:
            return idle.min { $0.lastUsed < $1.lastUsed }
        case .shortestKeepAliveThenDigest:
            // A negative keep-alive (forever) sorts last, as Ollama's unsigned comparison puts it.
            func duration(_ runner: Runner) -> Double { runner.keepAlive < 0 ? .infinity : runner.keepAlive }
            return idle.min { duration($0) != duration($1) ? duration($0) < duration($1) : $0.model.digest < $1.model.digest }
        }
    }

    /// What a loaded runner of `model` takes: its weights and the runner's overhead.
    func runnerBytes(_ model: SimulatedModel) -> Int64 { model.sizeBytes + configuration.runnerOverheadBytes }

    private func wakeIdleWaiters() {
        let waiters = idleWaiters
        idleWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func expireIdle() {
        let now = ContinuousClock.now
        for (weights, runner) in runners where runner.activeRequests == 0 {
            if let expiry = runner.expiresAt, expiry <= now { runners[weights] = nil }
        }
    }

    /// Loads without serving (Ollama's empty-request preload).
    func preload(_ model: SimulatedModel, keepAlive: Double?) async {
        guard await acquire(model, keepAlive: keepAlive) != nil else { return }
        release(model)
    }

    /// Ollama's `expireRunner`: the runner unloads now if idle, else when its requests end.
    func expire(_ model: SimulatedModel) {
        guard var runner = runners[model.weights] else { return }
        if runner.activeRequests == 0 {
            runners[model.weights] = nil
            wakeIdleWaiters()
        } else {
            runner.keepAlive = 0
            runners[model.weights] = runner
        }
    }

    struct LoadedInfo {
        var model: SimulatedModel
        var runnerBytes: Int64
        /// Real seconds until keep-alive unloads the runner, as a wall-clock `expires_at` means on a
        /// scaled farm too: TensorWall reads a runner gone before it as unloaded to make room.
        var expiresIn: Double?
        var contextLength: Int
    }

    func loaded() -> [LoadedInfo] {
        expireIdle()
        let now = ContinuousClock.now
        return runners.values.map { runner in
            var expiresIn: Double?
            if let expiry = runner.expiresAt {
                let remaining = now.duration(to: expiry)
                expiresIn = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) / 1e18
            } else if runner.keepAlive >= 0 {
                expiresIn = runner.keepAlive * configuration.timeScale
            }
            return LoadedInfo(
                model: runner.model, runnerBytes: runnerBytes(runner.model), expiresIn: expiresIn, contextLength: runner.contextLength)
        }
    }

    func activeRequests(_ model: SimulatedModel) -> Int { runners[model.weights]?.activeRequests ?? 0 }

    func isLoaded(_ model: SimulatedModel) -> Bool {
        expireIdle()
        return runners[model.weights] != nil
    }

    /// Loads running or waiting for their turn (Ollama loads one model at a time).
    var pendingLoads: Int { loadQueue.count + (loadInProgress ? 1 : 0) }

    /// Length of the longest cached sequence that `prompt` starts with.
    func cachedPrefixLength(_ model: SimulatedModel, prompt: String) -> Int {
        guard let runner = runners[model.weights] else { return 0 }
        return runner.promptCache.filter { prompt.hasPrefix($0) }.map(\.utf8.count).max() ?? 0
    }

    func remember(_ model: SimulatedModel, sequence: String) {
        guard var runner = runners[model.weights] else { return }
        runner.promptCache.removeAll { sequence.hasPrefix($0) }
        runner.promptCache.append(sequence)
        if runner.promptCache.count > configuration.numParallel { runner.promptCache.removeFirst() }
        runners[model.weights] = runner
    }
}
