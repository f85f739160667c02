import Balancer
import HTTP1
import WireFormats

/// `GET /status`: per node its health, last probe, pulled, loaded and loading models, in-flight
/// requests and cold loads started; per model its demand and the copies it wants and has; usage,
/// recent requests, the wait queues and the last hour.
/// Nothing secret is shown: node URLs never carry credentials (the config refuses them) and no key appears.
struct StatusReport {
    let cluster: Cluster
    let usage: UsageLedger
    let history: FarmHistory
    let strategy: ClusterConfig.Strategy
    let startedAt: ContinuousClock.Instant

    func json() async -> JSONValue {
        let snapshots = cluster.markingReleasedCopies(await cluster.snapshots())
        let uptime = startedAt.duration(to: .now).components.seconds
        let paces = NodePaces(snapshots)
        let demand = cluster.demandSummary(snapshots, paces: paces)
        let nodes: [JSONValue] = snapshots.map { node in
            var entry: JSONObject = [
                "name": .string(node.name), "url": .string(node.url.description), "health": .string(node.health.rawValue),
                "priority": .int(Int64(node.priority)), "weight": .int(Int64(node.weight)), "maxParallel": .int(Int64(node.maxParallel)),
                "maxParallelFrom": .string(node.maxParallelSource),
            ]
            entry["ollamaVersion"] = node.ollamaVersion.map { .string($0) } ?? .null
            if let probe = node.lastProbe {
                var probeEntry: JSONObject = [
                    "at": .string(RFC3339.format(probe.at)), "ok": .bool(probe.succeeded),
                    "latencyMs": .double((probe.latencyMs * 10).rounded() / 10),
                ]
                if let error = probe.error { probeEntry["error"] = .string(error) }
                entry["lastProbe"] = .object(probeEntry)
            } else {
                entry["lastProbe"] = .null
            }
            entry["pulledModels"] = .array(
                node.pulled.values.sorted { $0.name < $1.name }.map {
                    ["name": .string($0.name.canonical), "size": .int($0.sizeBytes), "digest": .string($0.digest)]
                })
            entry["loadedModels"] = .array(
                node.loaded.values.sorted { $0.name < $1.name }.map { model in
                    var loaded: JSONObject = [
                        "name": .string(model.name.canonical), "size": .int(model.sizeBytes), "sizeVram": .int(model.vramBytes),
                    ]
                    loaded["expiresAt"] = model.expiresAt.map { .string(RFC3339.format($0)) } ?? .null
                    loaded["inFlight"] = .int(Int64(node.inFlight(model.name)))
                    // The runner's num_ctx: requests asking another are placed elsewhere (`RunnerContexts`).
                    loaded["contextLength"] = node.runnerContexts.contextLength(of: model.name).map { .int(Int64($0)) } ?? .null
                    // What placement has learned: seconds a request holds a slot (prompt and answer).
                    loaded["serviceSeconds"] = node.serviceSeconds[model.name].map { .double(($0 * 100).rounded() / 100) } ?? .null
                    // And from a free slot to the first byte here: a node slower than its peers shows in it.
                    loaded["firstTokenSeconds"] = node.firstTokenSeconds[model.name].map { .double(($0 * 1000).rounded() / 1000) } ?? .null
                    return .object(loaded)
                })
            let now = cluster.now
            entry["loadingModels"] = .array(
                node.loading.sorted { $0.key < $1.key }.map { name, load in
                    [
                        "name": .string(name.canonical), "elapsedSeconds": .double(((now - load.startedAt) * 10).rounded() / 10),
                        "predictedSeconds": .double((load.predictedSeconds * 10).rounded() / 10),
                    ]
                })
            // Copies a planned load unloads once their requests end; they take no new request.
            entry["drainingModels"] = .array(
                node.draining.keys.sorted().map { ["name": .string($0.canonical), "inFlight": .int(Int64(node.inFlight($0)))] })
            entry["coldLoadsStarted"] = .int(Int64(node.coldLoadsStarted))
            // A load here ran far past its prediction and was given up: the node gets no load until it
            // restarts (or ten minutes pass), and serves only the models it has loaded.
            entry["loadsLookStuck"] = .bool(node.loadsLookStuck)
            // How many times the typical node's time its answers take (1 within 1.5x): the planner
            // counts a copy here as worth 1/pace of one on a typical node.
            entry["pace"] = .double((paces.pace(ofNode: node.index) * 100).rounded() / 100)
            // Learned from loads TensorWall started here (Ollama's load_duration); null until one has.
            entry["loadSecondsPerGB"] = node.learnedLoadSecondsPerGB.map { .double(($0 * 100).rounded() / 100) } ?? .null
            entry["reportedDurationScale"] = .double((node.reportedDurationScale * 100).rounded() / 100)
            // Models the node keeps loaded at once, and whether `cluster.json`, a node seen holding more,
            // or Ollama's unloads (its own `OLLAMA_MAX_LOADED_MODELS` set lower) said so.
            entry["maxLoadedModels"] = .int(Int64(node.maxLoadedModels))
            entry["maxLoadedModelsFrom"] = .string(node.maxLoadedModelsSource)
            entry["vramBytes"] = node.vramBudgetBytes.map { .int($0) } ?? .null
            entry["vramUsedBytes"] = .int(node.vramUsedBytes)
            // What the planner may fill here (the budget, or what this or a like node held), and what a
            // loaded model was seen to take beyond its weights: why a copy is or is not placed here.
            entry["vramPlannableBytes"] = node.plannableVRAMBytes.map { .int($0) } ?? .null
            // How a load beside others is tested against it: in a share of the free VRAM, as Ollama
            // loads into the GPU's own memory, or by the sum, for a total the node was seen to hold.
            entry["vramLoadFit"] = node.plannableVRAM.map { .string($0.isPhysical ? "shareOfFree" : "sum") } ?? .null
            entry["runnerOverheadBytes"] = .int(node.runnerSizes.overheadBytes)
            let passive = cluster.passiveHealth(node.id)
            entry["ejectedForSeconds"] = passive.ejectedUntil.map { .double((($0 - now) * 10).rounded() / 10) } ?? .null
            entry["coolingDown"] = .bool(passive.coolingDown)
            entry["inFlight"] = .object(
                JSONObject(node.inFlight.sorted { $0.key < $1.key }.map { (key: $0.key.canonical, value: .int(Int64($0.value))) }))
            entry["inFlightTotal"] = .int(Int64(node.totalInFlight))
            return .object(entry)
        }
        let healthy = snapshots.filter { $0.health == .healthy }.count
        let ledger = usage.snapshot
        let body: JSONValue = [
            "status": .string(healthy > 0 ? "ok" : "degraded"), "uptimeSeconds": .int(uptime),
            "strategy": .string(strategy.rawValue),
            "healthyNodes": .int(Int64(healthy)), "nodes": .array(nodes),
            // The demand offers most of the slots of every copy (`CapacityPlanner.slotsMostlyBusy`):
            // the farm is short of slots, not of a better layout, and the planner keeps last copies.
            "slotsMostlyBusy": .bool(CapacityPlanner.slotsMostlyBusy(nodes: snapshots, demand: demand, settings: cluster.plannerSettings)),
            "models": .array(models(snapshots, demand: demand, paces: paces)),
            "usage": .array(
                ledger.totals.sorted { $0.key < $1.key }.map { key, totals in
                    [
                        "key": .string(key.apiKey), "model": .string(key.model), "node": .string(key.node),
                        "requests": .int(Int64(totals.requests)), "errors": .int(Int64(totals.errors)),
                        "promptTokens": .int(totals.promptTokens), "completionTokens": .int(totals.completionTokens),
                    ]
                }),
            "recent": .array(
                ledger.recent.reversed().prefix(30).map { entry in
                    [
                        "at": .string(RFC3339.format(entry.at)), "model": .string(entry.model), "node": .string(entry.node),
                        "status": .int(Int64(entry.status)),
                        "ttftMs": entry.firstTokenSeconds.map { .double(($0 * 10_000).rounded() / 10) } ?? .null,
                        "durationMs": .double((entry.durationSeconds * 10_000).rounded() / 10),
                    ]
                }),
            "queued": .object(
                JSONObject(
                    cluster.queuedRequests().sorted { $0.key < $1.key }.map { (key: $0.key.canonical, value: .int(Int64($0.value))) })),
            "placesKeptForRetries": .object(
                JSONObject(
                    cluster.placesKeptForRetries().sorted { $0.key < $1.key }.map {
                        (key: $0.key.canonical, value: .int(Int64($0.value)))
                    })),
            "history": history.json,
        ]
        return body
    }
}
