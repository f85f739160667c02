import Balancer
import Testing

@testable import Proxy

/// A model whose requests queue on its one warm node gets a copy loaded into free VRAM elsewhere.
@Suite struct ReplicationTests {
    static let chat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
    static let streamingChat = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#

    /// Node 0 has the model warm with one slot; node 1 has 16 GB of VRAM and nothing loaded.
    /// Leaves a request queued behind a held stream on node 0 and returns once it queues.
    func queueBehindAHeldStream(replicate: Bool) async throws -> (TestFarm, EventReader) {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1), .init(maxParallel: 1)]) { config in
            config.replicate = replicate
            for index in config.nodes.indices { config.nodes[index].vramGB = 16 }
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // node 0 learns that answers are quick: waiting beats a cold load
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        Task { _ = try await farm.chat() }
        return (farm, events)
    }

    @Test func requestsQueuingOnTheOnlyWarmNodeGetACopyLoadedInFreeVRAM() async throws {
        let (farm, held) = try await queueBehindAHeldStream(replicate: true)
        var events = held
        defer { Task { await farm.stop() } }
        #expect(await farm.eventually { await farm.nodes[1].loadedModelNames() == ["llama3.2:latest"] })
        #expect(farm.nodes[1].lastBody("/api/generate")?["prompt"] == "")  // a preload, not a client's request
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func withReplicationOffNoCopyIsLoaded() async throws {
        let (farm, held) = try await queueBehindAHeldStream(replicate: false)
        var events = held
        defer { Task { await farm.stop() } }
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        try await Task.sleep(for: .milliseconds(300))  // six probe rounds
        #expect(await farm.nodes[1].loadedModelNames() == [])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }
}
