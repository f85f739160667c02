import Testing

@testable import Balancer

/// A node whose `OLLAMA_MAX_LOADED_MODELS` is below the config's `maxLoadedModels` unloads a model for
/// every load past its cap. Read as VRAM running out, that left a budget above what the cap allows,
/// and the planner kept asking for one model more. On the node actor with the reports fed in order.
@Suite struct LoadedModelsCapTests {
    func name(_ text: String) -> ModelName { ModelName(text)! }

    /// Two 5 GB models and three of 1 GB on a 16 GB node that keeps two loaded.
    static let sizes: [String: Int64] = ["big1": 5, "big2": 5, "m1": 4, "m2": 4, "s1": 1, "s2": 1, "s3": 1].mapValues { $0 * gigabyte }

    func node(vramGB: Double? = 16) async -> OllamaNode {
        var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)
        config.vramGB = vramGB
        let node = OllamaNode(config: config)
        await node.setHealth(.healthy)
        return node
    }

    func probe(_ node: OllamaNode, _ models: [String], at now: Double) async -> String? {
        let pulled = Self.sizes.map { PulledModel(name: name($0.key), displayName: $0.key, sizeBytes: $0.value, digest: "d") }
        let loaded = models.map { LoadedModel(name: name($0), sizeBytes: Self.sizes[$0]!, vramBytes: Self.sizes[$0]!, expiresAt: nil) }
        return await node.apply(
            ProbeReport(pulled: pulled, loaded: loaded), outcome: ProbeOutcome(at: now, succeeded: true, latencyMs: 1, error: nil),
            now: now, sentAt: now)
    }

    /// Loads `model` as TensorWall would (no victims: it fits by what TensorWall knows), then reports
    /// the node as Ollama left it.
    func load(_ node: OllamaNode, _ model: String, leaving models: [String], at now: Double) async -> String? {
        #expect(await node.tryAcquire(name(model), claim: .coldLoad(predictedSeconds: 1), now: now))
        _ = await node.release(name(model), outcome: RequestOutcome(succeeded: true, serviceSeconds: 0.5), now: now + 0.5)
        return await probe(node, models, at: now + 1)
    }

    /// The node holds the two 5 GB models, then loads the three small ones one by one, each load
    /// unloading one of the two models it held, as a node capped at two does.
    func loadThreeSmallPastACapOfTwo(_ node: OllamaNode, from start: Double) async {
        _ = await probe(node, ["big1", "big2"], at: start)
        _ = await load(node, "s1", leaving: ["big2", "s1"], at: start + 1)
        _ = await load(node, "s2", leaving: ["s1", "s2"], at: start + 3)
        _ = await load(node, "s3", leaving: ["s2", "s3"], at: start + 5)
    }

    @Test func twoUnloadsTheVRAMCannotExplainTeachTheNodesCap() async {
        let node = await node()
        #expect(await probe(node, ["big1", "big2"], at: 0) == nil)  // 10 GB held: that fits
        // A third model fits 16 GB by Ollama's rule; the node unloads big1 all the same. Read as VRAM.
        let first = await load(node, "s1", leaving: ["big2", "s1"], at: 1)
        #expect(first?.hasPrefix("VRAM planned up to") == true, "\(first ?? "")")
        // 7 GB wanted, where 10 GB fitted: not the VRAM. One such unload may be another client's.
        #expect(await load(node, "s2", leaving: ["s1", "s2"], at: 3) == nil)
        #expect(await node.snapshot(index: 0).maxLoadedModels == 3)
        let second = await load(node, "s3", leaving: ["s2", "s3"], at: 5)
        #expect(
            second
                == "up to 2 models loaded at once: Ollama unloaded s1:latest to make room though the node has held 10.0 GB, so its "
                + "OLLAMA_MAX_LOADED_MODELS is 2; set maxLoadedModels to 2 in cluster.json; VRAM planned up to 16.0 GB again")
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.maxLoadedModels == 2)
        #expect(snapshot.maxLoadedModelsSource == "ollama cap")
        #expect(snapshot.vramBudgetBytes == 16 * gigabyte)  // the overflow the cap explains is dropped
        // A third model's load now unloads one first (the least recently used), as the node would.
        #expect(await node.tryAcquire(name("s1"), claim: .coldLoad(predictedSeconds: 1), now: 8))
        let loading = await node.snapshot(index: 0)
        #expect(Set(loading.loaded.keys) == [name("s3")])
        #expect(Set(loading.loading.keys) == [name("s1")])
    }

    /// A set just under what the node held (9 GB of 10), unloaded from twice. Ollama's 80 %-of-free
    /// rule could explain it only on a GPU nearly full; either way a plan by the total asked for the
    /// same three models again and again, so it is planned as a cap.
    @Test func aSetNoLargerThanTheNodeHeldThatKeepsBeingUnloadedIsPlannedAsACap() async {
        let node = await node()
        _ = await probe(node, ["big1", "big2"], at: 0)
        _ = await load(node, "m1", leaving: ["big2", "m1"], at: 1)  // 14 GB wanted: read as VRAM
        _ = await load(node, "m2", leaving: ["m1", "m2"], at: 3)  // 13 GB: VRAM
        _ = await load(node, "s1", leaving: ["m2", "s1"], at: 5)  // 9 GB, under the 10 held
        #expect(await node.snapshot(index: 0).maxLoadedModels == 3)
        let learned = await load(node, "m1", leaving: ["s1", "m1"], at: 7)
        #expect(learned?.hasPrefix("up to 2 models loaded at once") == true, "\(learned ?? "")")
        #expect(await node.snapshot(index: 0).maxLoadedModels == 2)
    }

    @Test func aNodeSeenHoldingMoreModelsHasNoSuchCap() async {
        let node = await node()
        #expect(await probe(node, ["big1", "s1", "s2"], at: 0) == nil)  // three held at once
        #expect(await probe(node, ["big1", "big2"], at: 1) == nil)  // then 10 GB
        _ = await load(node, "s3", leaving: ["big2", "s3"], at: 2)
        _ = await load(node, "s1", leaving: ["s3", "s1"], at: 4)
        _ = await load(node, "s2", leaving: ["s1", "s2"], at: 6)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.maxLoadedModels == 3)
        #expect(snapshot.maxLoadedModelsSource == "cluster.json")
    }

    @Test func aLearnedCapIsForgottenAfterHalfAnHourAndDroppedWhenTheNodeHoldsMore() async {
        let node = await node()
        await loadThreeSmallPastACapOfTwo(node, from: 0)
        #expect(await node.snapshot(index: 0).maxLoadedModels == 2)
        let forgotten = await probe(node, ["s2", "s3"], at: 6 + ObservedLimits.overflowMemorySeconds + 1)
        #expect(forgotten == "the cap of 2 models read from Ollama's unloads over 30 minutes ago is forgotten; up to 3 planned")
        #expect(await node.snapshot(index: 0).maxLoadedModels == 3)

        let restarted = await self.node()
        await loadThreeSmallPastACapOfTwo(restarted, from: 0)
        // The operator raised OLLAMA_MAX_LOADED_MODELS: the node holds three.
        let raised = await probe(restarted, ["s1", "s2", "s3"], at: 7)
        #expect(raised == "up to 3 models loaded at once: seen holding 3, more than the cap of 2 read from Ollama's unloads")
        #expect(await restarted.snapshot(index: 0).maxLoadedModels == 3)
    }

    /// A node once seen holding three models, restarted with `OLLAMA_MAX_LOADED_MODELS=2`: what it
    /// showed before it went out of service no longer rules the cap out.
    @Test func aNodeBackFromOutOfServiceLearnsItsCapAfresh() async {
        let node = await node()
        _ = await probe(node, ["big1", "s1", "s2"], at: 0)  // three held at once
        await node.setHealth(.unhealthy)
        await node.setHealth(.healthy)
        #expect(await node.snapshot(index: 0).maxLoadedModelsSource == "cluster.json")
        _ = await probe(node, [], at: 10)  // restarted: nothing loaded
        await loadThreeSmallPastACapOfTwo(node, from: 11)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.maxLoadedModels == 2)
        #expect(snapshot.maxLoadedModelsSource == "ollama cap")
    }
}
