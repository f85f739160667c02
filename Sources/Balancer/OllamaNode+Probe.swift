import Foundation

/// What a probe of `/api/tags` and `/api/ps` tells the node actor: the inventory it replaces, the
/// limits it corrects, and the loads it shows finished or started by someone else.
extension OllamaNode {
    /// Replaces the inventory with what a probe saw. In-flight counts and loads in progress are ours
    /// and are kept. Limits the node shows (more models loaded than configured, a model spilled to
    /// the CPU because VRAM ran out) correct the configured ones.
    /// - Parameter sentAt: when the probe was sent. What this actor saw happen since (a load that
    ///   finished, a model TensorWall unloaded) is newer than the report and wins over it; without
    ///   that, a probe that crossed a finished load made the planner load the same model again.
    /// - Returns: what the report taught of the node's limits, for the operator's log (nil if nothing).
    @discardableResult
    public func apply(_ report: ProbeReport, outcome: ProbeOutcome, now: Double, sentAt: Double = -.infinity) -> String? {
        let limitsBefore = observedLimits
        let loadsUnderway = Set(loading.keys)
        retryStuckLoads(now: now)
        pulled = Dictionary(report.pulled.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        runnerSizes.learn(loaded: report.loaded, pulled: pulled)
        let listed = Set(report.loaded.map(\.name))
        runnersListedAs = runnersListedAs.filter { listed.contains($0.key) && pulled[$0.key] == nil }
        let reported = report.loaded.map { entry in
            var entry = entry
            if let counted = runnersListedAs[entry.name] { entry.name = counted }
            return entry
        }
        var nowLoaded = Dictionary(reported.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // A model with requests running is listed by Ollama (`/api/ps` snapshots the scheduler, and a
        // runner in use is never unloaded), so one missing from a probe sent after it was loaded is
        // not loaded, busy or not: Ollama unloaded it once idle to make room, and the requests sent
        // to it since wait there for the reload Ollama starts for them. It counts as loading: requests
        // join that reload, and other loads here wait for it (Ollama loads one model at a time).
        // Counted loaded, it drew requests that reloaded it in place of another model, over and over,
        // unseen by placement: on a node whose VRAM `cluster.json` leaves out, three large models
        // swapped in and out, and requests waited 30 s and more. Only a model whose load time is
        // unknown keeps its place while busy.
        var reloading: [ModelName] = []
        for (model, count) in inFlight where count > 0 && nowLoaded[model] == nil && loading[model] == nil {
            guard let known = loaded[model] else { continue }
            if loadedAt[model] == nil {
                nowLoaded[model] = known
            } else if let readyAt = loadedAt[model], readyAt <= sentAt, draining[model] == nil {
                loading[model] = LoadInProgress(startedAt: now, predictedSeconds: predictedLoadSeconds(model))
                reloading.append(model)
            }
        }
        for (model, known) in loaded
        where nowLoaded[model] == nil && max(loadedAt[model] ?? -.infinity, reloadedAt[model] ?? -.infinity) > sentAt {
            nowLoaded[model] = known  // loaded (or reloaded in place) after the probe left
        }
        for (model, at) in evictedAt
        where at > sentAt && at > (loadedAt[model] ?? -.infinity) && inFlight[model] == nil && loading[model] == nil {
            nowLoaded[model] = nil  // unloaded after the probe left
        }
        // A draining copy is still in Ollama's VRAM but takes no request: it stays out of `loaded`.
        for model in draining.keys { nowLoaded[model] = nil }
        for model in nowLoaded.keys { loading[model] = nil }
        // Idle models gone though TensorWall did not unload them and they had not expired: Ollama
        // made room for a load (unloaded models left `loaded` when TensorWall unloaded them). A
        // newcomer TensorWall did not load, of the very same bytes, is the same runner under another
        // name, not a load that needed room: Ollama lists a runner under the name that loaded it, so
        // once models that shared it stop being placed as one (`SharedRunners`: one was deleted),
        // the runner shows under a name TensorWall did not count it by.
        // When the newcomer's name is no longer held here, the runner is counted as the model it
        // serves, now and in later reports (`runnersListedAs`): a request for that model rides it.
        let newcomers = nowLoaded.values.filter { loaded[$0.name] == nil && !loadsUnderway.contains($0.name) }
        var vanished: [LoadedModel] = []
        for model in loaded.values
        where nowLoaded[model.name] == nil && (inFlight[model.name] ?? 0) == 0 && (model.expiresAt.map { $0 > outcome.at } ?? true) {
            guard let runner = newcomers.first(where: { $0.sizeBytes == model.sizeBytes && $0.vramBytes == model.vramBytes }) else {
                vanished.append(model)
                continue
            }
            if pulled[runner.name] == nil, nowLoaded[runner.name] != nil {
                runnersListedAs[runner.name] = model.name
                nowLoaded[runner.name] = nil
                nowLoaded[model.name] = LoadedModel(
                    name: model.name, sizeBytes: runner.sizeBytes, vramBytes: runner.vramBytes, expiresAt: runner.expiresAt,
                    contextLength: runner.contextLength)
            }
        }
        let newlyLoaded = nowLoaded.keys.contains { (loadedAt[$0] ?? now) > lastReportAt }
        let reportBefore = lastReportAt
        loaded = nowLoaded
        lastProbe = outcome
        if let version = report.version, version != ollamaVersion { ollamaVersion = version }
        lastReportAt = now
        for model in loaded.keys where loadedAt[model] == nil { loadedAt[model] = now }
        for model in loadedAt.keys where loaded[model] == nil { loadedAt[model] = nil }
        for model in reloadedAt.keys where loaded[model] == nil { reloadedAt[model] = nil }
        reloadsInPlace.formIntersection(loaded.keys)
        learnRunnerContexts(from: report, sentAt: sentAt)
        if report.loaded.contains(where: { $0.vramBytes < $0.sizeBytes }) {
            observedLimits.vramBytes = report.loaded.reduce(Int64(0)) { $0 + $1.vramBytes }
        }
        // Until the previous report saw that load finished, Ollama may have chosen victims for it.
        let racedOurUnloads =
            lastLoadAfterUnloads.map { load in
                load.at > reportBefore || loading[load.model] != nil || (loadedAt[load.model] ?? -.infinity) > reportBefore
            } ?? false
        observedLimits.learn(
            loaded: report.loaded, vanished: racedOurUnloads ? [] : vanished, newlyLoaded: newlyLoaded,
            loading: loading.keys.map(runnerBytes), configured: config, now: now)
        let reloads =
            reloading.isEmpty
            ? nil
            : "\(reloading.map(\.description).sorted().joined(separator: ", ")) gone from /api/ps with requests waiting for it: Ollama loads it again"
        let limits = observedLimits.change(from: limitsBefore, configured: config, unloaded: vanished.map(\.name))
        let learned = [reloads, limits].compactMap { $0 }
        return learned.isEmpty ? nil : learned.joined(separator: "; ")
    }

    public func recordProbeFailure(_ outcome: ProbeOutcome) {
        lastProbe = outcome
    }
}
