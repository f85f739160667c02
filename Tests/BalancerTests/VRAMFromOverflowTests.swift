import Testing

@testable import Balancer

/// VRAM learned from what Ollama unloaded on its own, for nodes whose `vramGB` is not given.
@Suite struct VRAMFromOverflowTests {
    func loaded(_ name: String, _ gigabytes: Int64) -> LoadedModel {
        LoadedModel(name: ModelName(name)!, sizeBytes: gigabytes * gigabyte, vramBytes: gigabytes * gigabyte, expiresAt: nil)
    }
    let config = ClusterConfig.NodeConfig(name: "n", url: NodeURL("http://127.0.0.1:1")!)

    @Test func aModelUnloadedForANewcomerBoundsTheBudget() {
        var limits = ObservedLimits()
        limits.learn(loaded: [loaded("a", 7), loaded("b", 5)], vanished: [], newlyLoaded: true, loading: [], configured: config, now: 0)
        #expect(limits.vramBudgetBytes(configured: config) == nil)
        #expect(limits.residentBytes == 12 * gigabyte)
        // c (6 GB) came in and b went: 7 + 6 + 5 did not fit.
        limits.learn(
            loaded: [loaded("a", 7), loaded("c", 6)], vanished: [loaded("b", 5)], newlyLoaded: true, loading: [], configured: config, now: 0
        )
        #expect(limits.overflowBytes == 18 * gigabyte)
        #expect(limits.vramBudgetBytes(configured: config) == Int64(Double(18 * gigabyte) * ObservedLimits.overflowMargin))
    }

    @Test func nothingIsLearnedWithoutANewcomerOrPastTheLoadedModelCap() {
        var limits = ObservedLimits()
        // A restart or another client's unload: models gone, nothing new.
        limits.learn(loaded: [loaded("a", 2)], vanished: [loaded("b", 2)], newlyLoaded: false, loading: [], configured: config, now: 0)
        // Four models where three may be loaded: the cap explains the unload.
        limits.learn(
            loaded: [loaded("a", 2), loaded("c", 2), loaded("d", 2)], vanished: [loaded("b", 2)], newlyLoaded: true, loading: [],
            configured: config, now: 0)
        #expect(limits.overflowBytes == nil)
        #expect(limits.vramBudgetBytes(configured: config) == nil)
    }

    @Test func aLoadNotYetInTheReportCounts() {
        var limits = ObservedLimits()
        limits.learn(
            loaded: [loaded("a", 7)], vanished: [loaded("b", 5)], newlyLoaded: false, loading: [6 * gigabyte], configured: config, now: 0)
        #expect(limits.overflowBytes == 18 * gigabyte)
    }

    @Test func theConfigAndTheOverflowTheLowerWins() {
        var configured = config
        configured.vramGB = 16
        var limits = ObservedLimits()
        limits.learn(
            loaded: [loaded("a", 7), loaded("c", 6)], vanished: [loaded("b", 5)], newlyLoaded: true, loading: [], configured: configured,
            now: 0)
        #expect(limits.vramBudgetBytes(configured: configured) == 16 * gigabyte)  // 18 × 0.95 is more than 16
        limits.learn(
            loaded: [loaded("a", 7), loaded("d", 4)], vanished: [loaded("e", 3)], newlyLoaded: true, loading: [], configured: configured,
            now: 0)
        #expect(limits.vramBudgetBytes(configured: configured) == Int64(Double(14 * gigabyte) * ObservedLimits.overflowMargin))
    }

    @Test func anOverflowIsForgottenHalfAnHourAfterItLastShowed() {
        var limits = ObservedLimits()
        // Another client unloaded b (keep_alive 0) just as c came in: it looks like 4 GB did not fit.
        limits.learn(
            loaded: [loaded("a", 2), loaded("c", 1)], vanished: [loaded("b", 1)], newlyLoaded: true, loading: [], configured: config,
            now: 100)
        #expect(limits.vramBudgetBytes(configured: config) == Int64(Double(4 * gigabyte) * ObservedLimits.overflowMargin))
        let before = limits
        limits.learn(
            loaded: [loaded("a", 2), loaded("c", 1)], vanished: [], newlyLoaded: false, loading: [], configured: config, now: 1800)
        #expect(limits.overflowBytes == 4 * gigabyte)
        limits.learn(
            loaded: [loaded("a", 2), loaded("c", 1)], vanished: [], newlyLoaded: false, loading: [], configured: config, now: 1901)
        #expect(limits.overflowBytes == nil)
        #expect(limits.vramBudgetBytes(configured: config) == nil)
        #expect(limits.residentBytes == 3 * gigabyte)
        #expect(
            limits.change(from: before, configured: config, unloaded: [])
                == "the VRAM limit Ollama last showed over 30 minutes ago is forgotten")
        // A real limit shows again at the next load past it.
        limits.learn(
            loaded: [loaded("a", 2), loaded("d", 2)], vanished: [loaded("c", 1)], newlyLoaded: true, loading: [], configured: config,
            now: 2000)
        #expect(limits.overflowBytes == 5 * gigabyte)
        #expect(limits.overflowSeenAt == 2000)
    }

    @Test func thePlannerFillsANodeOfUnknownVRAMOnlyUpToWhatItHeld() {
        let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]
        func seen(_ gigabytes: Int64) -> ObservedLimits {
            var limits = ObservedLimits()
            limits.residentBytes = gigabytes * gigabyte
            return limits
        }
        let unknown = node(1, pulled: pulled, loaded: ["phi3"], observed: ObservedLimits())
        #expect(unknown.plannableVRAMBytes == nil)
        let hot = ModelName("llama3.2")!
        let demand: [ModelName: CapacityPlanner.Demand] = [
            hot: .init(rate: 2, serviceSeconds: 3), ModelName("phi3")!: .init(rate: 0.01, serviceSeconds: 3),
        ]
        let warm = node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1)
        #expect(CapacityPlanner.plan(nodes: [warm, unknown], demand: demand, now: 1000).isEmpty)
        // It held 3 GB at most: 2 + 2 GB may not fit, so phi3 (rarely asked for) makes room.
        let small = node(1, pulled: pulled, loaded: ["phi3"], observed: seen(3))
        #expect(CapacityPlanner.plan(nodes: [warm, small], demand: demand, now: 1000).map(\.evicting) == [[ModelName("phi3")!]])
        // It held 4 GB: 2 + 2 GB fit, and nothing is unloaded.
        let held = node(1, pulled: pulled, loaded: ["phi3"], observed: seen(4))
        #expect(held.plannableVRAMBytes == 4 * gigabyte)
        #expect(CapacityPlanner.plan(nodes: [warm, held], demand: demand, now: 1000).map(\.evicting) == [[]])
    }

    @Test func aNodeOfUnknownVRAMIsPlannedAsFarAsAnotherSuchNodeHeld() async {
        var configs = ["a", "b", "c"].map { ClusterConfig.NodeConfig(name: $0, url: NodeURL("http://\($0):1")!) }
        configs[2].vramGB = 24
        let cluster = Cluster(nodes: configs, random: SeededGenerator(state: 1))
        let held: [Int64] = [10, 4, 20]
        for (index, gigabytes) in held.enumerated() {
            let model = PulledModel(name: ModelName("m\(index)")!, displayName: "m\(index)", sizeBytes: gigabytes * gigabyte, digest: "d")
            await cluster.nodes[index].apply(
                ProbeReport(pulled: [model], loaded: [loaded("m\(index)", gigabytes)]),
                outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        }
        let nodes = await cluster.snapshots()
        // b held 4 GB, a 10 GB: b may be planned to 10. c's 20 GB came with a configured 24 GB GPU,
        // another kind of node, and teaches a and b nothing.
        #expect(nodes.map(\.plannableVRAMBytes) == [10 * gigabyte, 10 * gigabyte, 24 * gigabyte])
        #expect(nodes[1].vramBudgetBytes == nil)
    }

    /// A runner shared by two names (`FROM llama3.2`) is listed under the one that loaded it; when
    /// the other is deleted, the probe shows it under that name, and nothing was unloaded for it.
    @Test func aRunnerListedUnderAnotherNameTeachesNoLimit() async {
        let node = OllamaNode(config: config)
        let outcome = ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil)
        let base = PulledModel(name: ModelName("llama3.2")!, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "a")
        let custom = PulledModel(name: ModelName("py-coder")!, displayName: "py-coder", sizeBytes: 2 * gigabyte, digest: "b")
        let idle = LoadedModel(name: ModelName("phi3")!, sizeBytes: 3 * gigabyte, vramBytes: 3 * gigabyte, expiresAt: nil)
        await node.apply(ProbeReport(pulled: [base, custom], loaded: [loaded("llama3.2", 4), idle]), outcome: outcome, now: 0)
        let renamed = await node.apply(
            ProbeReport(pulled: [base], loaded: [loaded("py-coder", 4), idle]), outcome: outcome, now: 10, sentAt: 9)
        #expect(renamed == nil)
        #expect(await node.observedLimits.overflowBytes == nil)
        // py-coder is gone from this node, so its runner is counted as the llama3.2 it serves: a
        // request for llama3.2 rides it, as Ollama does, now and while /api/ps lists it so.
        #expect(await node.loaded.keys.sorted() == [ModelName("llama3.2")!, ModelName("phi3")!])
        await node.apply(ProbeReport(pulled: [base], loaded: [loaded("py-coder", 4), idle]), outcome: outcome, now: 15, sentAt: 14)
        #expect(await node.loaded.keys.sorted() == [ModelName("llama3.2")!, ModelName("phi3")!])
        // A newcomer of other bytes did need the room: phi3 went for it.
        let unloaded = await node.apply(
            ProbeReport(pulled: [base], loaded: [loaded("py-coder", 4), loaded("qwen", 9)]), outcome: outcome, now: 20, sentAt: 19)
        #expect(await node.observedLimits.overflowBytes == 16 * gigabyte)
        #expect(unloaded?.contains("Ollama unloaded phi3:latest to make room") == true)
        #expect(await node.loaded.keys.sorted() == [ModelName("llama3.2")!, ModelName("qwen")!])
        // Once /api/ps no longer lists the runner, the model it served is gone.
        await node.apply(ProbeReport(pulled: [base], loaded: [loaded("qwen", 9)]), outcome: outcome, now: 30, sentAt: 29)
        #expect(await node.loaded.keys.sorted() == [ModelName("qwen")!])
    }
}
