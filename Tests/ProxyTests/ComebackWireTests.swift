import Balancer
import Foundation
import Testing

@testable import Proxy

/// A planned load whose victim fits back beside it (`CapacityPlanner.Move.comingBack`) loads that
/// victim back right after itself: the planner priced the victim as away only for the two loads, so
/// the load that brings it back is claimed with the step, where placement and the next round see it.
@Suite(.stopsFarms) struct ComebackWireTests {
    let incoming = ModelName("qwen2.5")!
    let spare = ModelName("phi3")!
    let back = ModelName("llama3.2")!

    /// One node holding `phi3` and `llama3.2`, whose loads take about a second each here.
    func farm() async throws -> TestFarm {
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2", "qwen2.5", "phi3"], preload: ["phi3", "llama3.2"], loadSecondsPerGB: 500, vramGB: 6.5)
        ]) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        return farm
    }

    func preloader(_ farm: TestFarm) -> Preloader {
        Preloader(
            cluster: farm.gateway.cluster, client: farm.gateway.client, timeouts: farm.gateway.upstreamTimeouts,
            logger: Logger(minimum: .error), loads: farm.gateway.loads)
    }

    @Test func aVictimThatComesBackIsLoadedRightAfterTheNewModel() async throws {
        let farm = try await farm()
        let node = farm.gateway.cluster.nodes[0]
        let snapshot = await node.snapshot(index: 0)
        let loadsBefore = await farm.nodes[0].loadsByModel()
        #expect(
            await preloader(farm).start(
                incoming, on: snapshot, evicting: [spare, back], comingBack: [back], keepAlive: nil, reason: "test"))
        // While the new model loads, the victim shows as loading after it, and a request for it waits for that load.
        let during = await node.snapshot(index: 0)
        let lead = try #require(during.loading[incoming])
        let following = try #require(during.loading[back], "\(during.loading)")
        #expect(following.predictedSeconds > lead.predictedSeconds)
        #expect(await node.holdsJoinersBack(back))
        let joined = try await farm.chat("llama3.2")
        #expect(joined.status == 200)
        #expect(await farm.eventually { await farm.nodes[0].loadedModelNames() == ["llama3.2:latest", "qwen2.5:latest"] })
        // One load each: the request joined the load back rather than starting its own.
        let loads = await farm.nodes[0].loadsByModel().merging(loadsBefore) { $0 - $1 }.filter { $0.value > 0 }
        #expect(loads == ["qwen2.5:latest": 1, "llama3.2:latest": 1], "\(loads)")
        let after = await node.snapshot(index: 0)
        #expect(after.loading.isEmpty && after.isLoaded(back) && after.isLoaded(incoming) && !after.isLoaded(spare))
    }

    /// A busy victim drains first; its load back is claimed once its answer has ended.
    @Test func aBusyVictimComesBackOnceItHasDrained() async throws {
        let farm = try await farm()
        #expect(try await farm.chat().status == 200)  // the node's answers are learned to be quick
        farm.nodes[0].holdStreams(true)
        let streaming = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: streaming))
        _ = try await events.next()
        let node = farm.gateway.cluster.nodes[0]
        let snapshot = await node.snapshot(index: 0)
        #expect(
            await preloader(farm).start(
                incoming, on: snapshot, evicting: [spare, back], comingBack: [back], keepAlive: nil, reason: "test"))
        try await Task.sleep(for: .milliseconds(100))
        #expect(await node.snapshot(index: 0).isLoading(back) == false, "its copy still drains")
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(await farm.eventually { await farm.nodes[0].loadedModelNames() == ["llama3.2:latest", "qwen2.5:latest"] })
        #expect(await farm.eventually { await node.snapshot(index: 0).loading.isEmpty })
    }

    /// While the busy victim drains, a request for it queues for its comeback: it does not load the
    /// model on another node in place of that node's only model, as it did when nothing showed the
    /// comeback until the drain had ended.
    @Test func aRequestDuringTheDrainWaitsForTheComebackInsteadOfLoadingElsewhere() async throws {
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2", "qwen2.5", "phi3"], preload: ["phi3", "llama3.2"], loadSecondsPerGB: 500, vramGB: 6.5),
            .init(models: ["llama3.2", "gemma2"], preload: ["gemma2"], loadSecondsPerGB: 500, vramGB: 2.5),
        ]) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // on node 0, where the model is warm
        // gemma2, node 1's only model, is asked for: unloading it is not free.
        for _ in 0..<3 { #expect(try await farm.chat("gemma2").status == 200) }
        farm.nodes[0].holdStreams(true)
        let streaming = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: streaming))
        _ = try await events.next()
        let node = farm.gateway.cluster.nodes[0]
        #expect(
            await preloader(farm).start(
                incoming, on: node.snapshot(index: 0), evicting: [spare, back], comingBack: [back], keepAlive: nil, reason: "test"))
        let loadsBefore = await farm.nodes[1].loadsByModel()
        let waiting = Task { try await farm.chat("llama3.2") }
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(back) == 1 })
        #expect(await farm.nodes[1].loadedModelNames() == ["gemma2:latest"])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await waiting.value.status == 200)
        #expect(await farm.nodes[1].loadsByModel() == loadsBefore, "node 1 loaded nothing")
        #expect(await farm.nodes[1].loadedModelNames() == ["gemma2:latest"])
        #expect(await farm.eventually { await farm.nodes[0].loadedModelNames() == ["llama3.2:latest", "qwen2.5:latest"] })
    }
}
