/// Limits a node showed in `/api/ps` that correct or complete what `cluster.json` says.
public struct ObservedLimits: Sendable, Equatable {
    /// VRAM in use when a model was seen partly on the CPU (`size_vram < size`): the GPU was full.
    public var vramBytes: Int64?
    /// The most VRAM seen in use at once: that much fits.
    public var residentBytes: Int64?
    /// The least VRAM a set of models would have taken when Ollama unloaded one of them to make
    /// room for a load TensorWall started: that much does not fit.
    public var overflowBytes: Int64?
    /// When an overflow last showed (TensorWall's clock).
    public var overflowSeenAt: Double?
    /// How many models the node kept loaded when the overflow showed: fewer than `maxLoadedModels`
    /// allows, so the node's own cap (`OLLAMA_MAX_LOADED_MODELS`) set that low would explain the
    /// unload as well as its VRAM. The two read alike from `/api/ps`; the operator is told which setting to check.
    public var overflowHeldModels: Int?
    /// The node's own loaded-model cap (`OLLAMA_MAX_LOADED_MODELS`) below `maxLoadedModels`, shown
    /// when Ollama made room twice for a set of models no larger than the node had held (see
    /// `learn`). Planned by a VRAM total instead, such a node thrashed: it had held as many bytes as
    /// the set it unloaded from, so the total never stopped the planner asking for one model more.
    public var loadedModelsCap: Int?
    /// When `loadedModelsCap` was learned (TensorWall's clock): it is forgotten as an overflow is.
    public var loadedModelsCapSeenAt: Double?
    /// Unloads seen so far that the VRAM cannot explain, each leaving the same number of models loaded.
    var capEvidence: CapEvidence?
    /// The most models the node was seen holding at once: more than `maxLoadedModels` allows raises it.
    public var mostModelsHeld = 0

    /// An overflow is remembered this long after it last showed, then forgotten. One can mislead: a
    /// model another client unloaded (`keep_alive: 0`) just as a load came in looks like Ollama making
    /// room, and the budget it leaves is never tested again, since nothing is planned past it. A real
    /// limit shows again at the next load past it, at the cost of one unload Ollama chooses.
    public static let overflowMemorySeconds = 1800.0

    /// A budget read off an overflow stays this far below it: Ollama's fit test is its own estimate
    /// (context, overhead), not a sum of model sizes, so a set just under the total that overflowed
    /// may overflow too.
    static let overflowMargin = 0.95

    /// Unloads for sets no larger than the node held, all leaving `held` models loaded: the cap is
    /// taken at the second. One alone may be a model another client unloaded just as a load came in.
    struct CapEvidence: Sendable, Equatable {
        var held: Int
        var count: Int
        var lastAt: Double
    }

    public init(mostModelsHeld: Int = 0, vramBytes: Int64? = nil) {
        self.mostModelsHeld = mostModelsHeld
        self.vramBytes = vramBytes
    }

    /// Models the node keeps loaded at once: the config's `maxLoadedModels` (or the node's own lower cap,
    /// once its unloads showed it), or more if the node was seen holding more.
    public func maxLoadedModels(configured config: ClusterConfig.NodeConfig) -> Int {
        max(loadedModelsCap ?? config.maxLoadedModels, mostModelsHeld)
    }

    /// Where `maxLoadedModels` comes from, for `/status`: `cluster.json`, `seen` (the node held more),
    /// or `ollama cap` (learned from Ollama's unloads).
    public func maxLoadedModelsSource(configured config: ClusterConfig.NodeConfig) -> String {
        if mostModelsHeld > (loadedModelsCap ?? config.maxLoadedModels) { return "seen" }
        return loadedModelsCap == nil ? "cluster.json" : "ollama cap"
    }

    /// Bytes of models that fit in VRAM: what the node showed when a model spilled to the CPU; else
    /// `vramGB`, lowered to what an overflow showed; else what the overflow showed alone. Without
    /// `vramGB` the node's VRAM is known only once a load overflowed it: until then nothing limits placement
    /// but the loaded-model cap.
    public func vramBudgetBytes(configured config: ClusterConfig.NodeConfig) -> Int64? {
        vramFit(configured: config)?.bytes
    }

    /// The budget with the test a load must pass in it (see `VRAMFit`): the GPU's own memory is
    /// filled by Ollama's share-of-free rule; a total read off an overflow is a plain sum.
    public func vramFit(configured config: ClusterConfig.NodeConfig) -> VRAMFit? {
        if let vramBytes { return VRAMFit(bytes: vramBytes, isPhysical: true) }
        let configured = config.vramGB.map { Int64($0 * 1e9) }
        let overflowBudget = overflowBytes.map { max(residentBytes ?? 0, Int64(Double($0) * Self.overflowMargin)) }
        switch (configured, overflowBudget) {
        case (let configured?, let overflow?) where overflow < configured: return VRAMFit(bytes: overflow, isPhysical: false)
        case (let configured?, _): return VRAMFit(bytes: configured, isPhysical: true)
        case (nil, let overflow?): return VRAMFit(bytes: overflow, isPhysical: false)
        case (nil, nil): return nil
        }
    }

    /// Learns from one `/api/ps` report. `vanished` are models TensorWall counted as loaded and
    /// idle that the report no longer shows, though TensorWall did not unload them and they had not
    /// expired. If a model came in since the last report (`newlyLoaded`) or is still loading
    /// (`loadingBytes`, not in the report yet), Ollama unloaded them to make room for it: the loaded,
    /// loading and vanished models together did not fit, unless they were more than the loaded-model
    /// cap (which explains it alone). A node that restarted, or a model another client unloaded,
    /// brings no newcomer and teaches nothing.
    public mutating func learn(
        loaded: [LoadedModel], vanished: [LoadedModel], newlyLoaded: Bool, loading: [Int64], configured config: ClusterConfig.NodeConfig,
        now: Double
    ) {
        let inUse = loaded.reduce(Int64(0)) { $0 + $1.vramBytes }
        if let seenAt = overflowSeenAt, now - seenAt > Self.overflowMemorySeconds {
            forgetOverflow()
        }
        if let seenAt = loadedModelsCapSeenAt, now - seenAt > Self.overflowMemorySeconds {
            loadedModelsCap = nil
            loadedModelsCapSeenAt = nil
        }
        if let evidence = capEvidence, now - evidence.lastAt > Self.overflowMemorySeconds { capEvidence = nil }
        mostModelsHeld = max(mostModelsHeld, loaded.count)
        if let cap = loadedModelsCap, loaded.count > cap {
            loadedModelsCap = nil  // held more: the cap was a misreading, or the node restarted with a higher one
            loadedModelsCapSeenAt = nil
        }
        residentBytes = max(residentBytes ?? 0, inUse)
        guard newlyLoaded || !loading.isEmpty, !vanished.isEmpty,
            loaded.count + loading.count + vanished.count <= maxLoadedModels(configured: config)
        else { return }
        let held = loaded.count + loading.count
        let wanted = vanished.reduce(inUse + loading.reduce(0, +)) { $0 + $1.vramBytes }
        // The node held as many bytes as this set before, and never more models than it keeps now.
        // Ollama's cap of `held` models made the room, or its rule that a load beside others fit in
        // 80 % of the free VRAM, on a GPU so nearly full that the order of the loads decides (the set
        // comes within a quarter of the loaded model's size of the VRAM). Planned by a total, the
        // same set is asked for again and again, so either way it is planned as a cap.
        if wanted <= residentBytes ?? 0, mostModelsHeld <= held {
            let count = capEvidence?.held == held ? (capEvidence?.count ?? 0) + 1 : 1
            capEvidence = CapEvidence(held: held, count: count, lastAt: now)
            guard count >= 2 else { return }
            loadedModelsCap = held
            loadedModelsCapSeenAt = now
            capEvidence = nil
            forgetOverflow()  // the cap explains the unloads read as overflows; a real one shows again
            return
        }
        if wanted <= overflowBytes ?? .max { overflowHeldModels = held }
        overflowBytes = min(overflowBytes ?? .max, wanted)
        overflowSeenAt = now
    }

    private mutating func forgetOverflow() {
        overflowBytes = nil
        overflowHeldModels = nil
        overflowSeenAt = nil
    }

    /// What changed since `earlier` in the limits placement plans by, in words for the operator's
    /// log; nil when nothing did. `unloaded` names the models Ollama unloaded on its own, if any.
    func change(from earlier: ObservedLimits, configured config: ClusterConfig.NodeConfig, unloaded: [ModelName]) -> String? {
        var parts: [String] = []
        let budget = vramBudgetBytes(configured: config)
        let earlierBudget = earlier.vramBudgetBytes(configured: config)
        let cap = maxLoadedModels(configured: config)
        if let learned = loadedModelsCap, earlier.loadedModelsCap == nil {
            let names = unloaded.map(\.description).sorted().joined(separator: ", ")
            var part =
                "up to \(learned) model\(learned == 1 ? "" : "s") loaded at once: Ollama unloaded \(names) to make room though the node "
                + "has held \(Self.gigabytes(residentBytes ?? 0)), so its OLLAMA_MAX_LOADED_MODELS is \(learned); "
                + "set maxLoadedModels to \(learned) in cluster.json"
            if budget != earlierBudget {
                part += budget.map { "; VRAM planned up to \(Self.gigabytes($0)) again" } ?? "; no VRAM limit planned"
            }
            return part
        }
        if let forgotten = earlier.loadedModelsCap, loadedModelsCap == nil {
            parts.append(
                mostModelsHeld > forgotten
                    ? "up to \(cap) models loaded at once: seen holding \(mostModelsHeld), more than the cap of \(forgotten) read from "
                        + "Ollama's unloads"
                    : "the cap of \(forgotten) models read from Ollama's unloads over \(Int(Self.overflowMemorySeconds / 60)) minutes ago "
                        + "is forgotten; up to \(cap) planned")
        }
        if budget != earlierBudget, overflowBytes == nil, earlier.overflowBytes != nil {
            parts.append(
                "the VRAM limit Ollama last showed over \(Int(Self.overflowMemorySeconds / 60)) minutes ago is forgotten"
                    + (budget.map { "; VRAM planned up to \(Self.gigabytes($0))" } ?? ""))
        } else if budget != earlierBudget, let budget {
            var part = "VRAM planned up to \(Self.gigabytes(budget))"
            if overflowBytes != earlier.overflowBytes, let overflowBytes {
                let names = unloaded.map(\.description).sorted().joined(separator: ", ")
                part += " (Ollama unloaded \(names) to make room: \(Self.gigabytes(overflowBytes)) did not fit"
                // Only a set within the configured cap is read as an overflow, so a lower cap is always the other reading.
                if let held = overflowHeldModels {
                    part +=
                        ", or the node loads at most \(held) model\(held == 1 ? "" : "s") at once: if its OLLAMA_MAX_LOADED_MODELS is \(held), "
                        + "set maxLoadedModels to \(held) in cluster.json"
                }
                part += ")"
            } else if vramBytes != earlier.vramBytes {
                part += " (a model spilled to the CPU)"
            }
            parts.append(part)
        }
        if cap != earlier.maxLoadedModels(configured: config), earlier.loadedModelsCap == nil {
            parts.append("up to \(cap) models loaded at once (seen holding \(cap))")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    private static func gigabytes(_ bytes: Int64) -> String {
        let tenths = (Double(bytes) / 1e8).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) GB"
    }
}
