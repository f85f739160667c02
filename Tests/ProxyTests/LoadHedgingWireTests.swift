import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// A request waiting on a cold load takes a warm slot that frees elsewhere first, and the load goes
/// on for whoever comes next (`Gateway.openWhileLoading`).
@Suite(.stopsFarms) struct LoadHedgingWireTests {
    static let streaming = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
    static let plain = #"{"model":"llama3.2","messages":[{"role":"user","content":"again"}],"stream":false}"#

    /// node0 holds the model with one slot; node1 has it pulled, and its loads take about 5 s here.
    func farm(logs: LogCapture, configure: @escaping (inout ClusterConfig) -> Void = { _ in }) async throws -> TestFarm {
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"], maxParallel: 1, numParallel: 1), .init(maxParallel: 1, numParallel: 1, loadSecondsPerGB: 2500)],
            logs: logs
        ) { config in
            config.replicate = false
            configure(&config)
        }
        try await farm.waitUntilAllHealthy()
        // No answer has been timed yet: a busy slot is taken to free after the default 5 s, longer than
        // the 3 s a 2 GB load is predicted to take, so a request that finds node0 busy loads on node1.
        return farm
    }

    @Test func aRequestWaitingOnALoadTakesASlotThatFreesElsewhere() async throws {
        let logs = LogCapture()
        let farm = try await farm(logs: logs)
        farm.nodes[0].holdStreams(true)
        var held = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streaming))
        _ = try await held.next()
        // node0's only slot is taken for as long as the test holds it: the next request loads the model on node1.
        let waiting = Task { try await farm.json("POST", "/api/chat", body: Self.plain) }
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[1].snapshot(index: 1).isLoading(ModelName("llama3.2")!) })
        let started = ContinuousClock.now
        farm.nodes[0].holdStreams(false)
        while try await held.next() != nil {}
        let answer = try await waiting.value
        #expect(answer.status == 200)
        // Served by node0's freed slot, seconds before node1's load could have ended.
        #expect(farm.nodes[0].answeredCount("/api/chat") == 2)  // /v1 calls go to Ollama's /api/chat too
        #expect(started.duration(to: .now) < .seconds(3))
        #expect(logs.text.contains("while its load ran on node node1; sending it there too"))
        // The load went on, and node1 now holds a copy.
        #expect(await farm.eventually(.seconds(30)) { await farm.nodes[1].loadedModelNames() == ["llama3.2:latest"] })
        #expect(await farm.nodes[1].abortedLoadCount() == 0)
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[1].snapshot(index: 1).inFlight.isEmpty })
        #expect(await farm.gateway.cluster.nodes[1].snapshot(index: 1).isLoaded(ModelName("llama3.2")!))
    }

    @Test func withHedgingOffTheRequestWaitsForItsLoad() async throws {
        let logs = LogCapture()
        let farm = try await farm(logs: logs) { $0.timeouts.hedgeAfterMs = 0 }
        farm.nodes[0].holdStreams(true)
        var held = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streaming))
        _ = try await held.next()
        let waiting = Task { try await farm.json("POST", "/api/chat", body: Self.plain) }
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[1].snapshot(index: 1).isLoading(ModelName("llama3.2")!) })
        farm.nodes[0].holdStreams(false)
        while try await held.next() != nil {}
        #expect(try await waiting.value.status == 200)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
    }
}
