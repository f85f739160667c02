import Balancer
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Requests queued for a runner loaded for their context length do not hold back the model's
/// requests of another length (`WaitQueues`' lanes).
@Suite(.stopsFarms) struct ContextLengthLaneWireTests {
    @Test func aRequestQueuedForAnotherLengthDoesNotHoldBackOneAWarmRunnerServes() async throws {
        // node1 loads in about 4 s (2 GB at 2,000 simulated seconds a GB, a thousandth of it real).
        let farm = try await TestFarm.start([
            .init(preload: ["llama3.2"], maxParallel: 1, numParallel: 1), .init(maxParallel: 1, numParallel: 1, loadSecondsPerGB: 2000),
        ]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        #expect(await RunnerContextWireTests.statusShowsTheDefaultLength(farm, node: 0))
        let long = RunnerContextWireTests.chat(contextLength: 8192)
        // The first 8192 request loads a runner on node1; the second queues for it.
        async let loading = farm.json("POST", "/api/chat", body: long)
        #expect(await farm.eventually { await farm.gateway.cluster.snapshots().contains { $0.isLoading(ModelName("llama3.2")!) } })
        let queued = Task { try await farm.json("POST", "/api/chat", body: long) }
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        // node0's runner is free for a request that sets no length: it is served while node1 loads.
        let plain = RunnerContextWireTests.chat(contextLength: nil)
        #expect(try await farm.json("POST", "/api/chat", body: plain).status == 200)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 1)
        #expect(await farm.gateway.cluster.snapshots().contains { $0.isLoading(ModelName("llama3.2")!) })
        #expect(try await loading.status == 200)
        #expect(try await queued.value.status == 200)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 2)
    }
}
