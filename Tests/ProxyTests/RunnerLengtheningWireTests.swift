import Balancer
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// An idle runner loaded for the automatic context length is reloaded for the longer length most of
/// its model's requests are served by (`Cluster.runnersToLengthen`): it then serves both kinds.
@Suite(.stopsFarms) struct RunnerLengtheningWireTests {
    @Test func anIdleAutomaticRunnerIsReloadedForTheLengthMostRequestsAsk() async throws {
        let farm = try await TestFarm.start([.init(), .init()]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: nil)).status == 200)
        let automatic = await farm.nodes[0].loadCount() == 1 ? 0 : 1
        #expect(await RunnerContextWireTests.statusShowsTheDefaultLength(farm, node: automatic))
        // A stream held on the automatic runner keeps it busy, so it is not reloaded in place for
        // the 8192 request: that one loads a runner of its own on the other node.
        farm.nodes[automatic].holdStreams(true)
        var held = EventReader(try await farm.request("POST", "/v1/chat/completions", body: ReplicationTests.streamingChat))
        _ = try await held.next()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: 8192)).status == 200)
        #expect(await farm.nodes[1 - automatic].runnerContextLength("llama3.2") == 8192)
        #expect(await farm.nodes[automatic].runnerContextLength("llama3.2") == 4096)
        farm.nodes[automatic].holdStreams(false)
        while try await held.next() != nil {}
        // Idle now, and 8192 serves every request so far: the automatic runner is reloaded for it.
        #expect(await farm.eventually { await farm.nodes[automatic].runnerContextLength("llama3.2") == 8192 })
        #expect(await farm.nodes[automatic].loadCount() == 2)
        #expect(farm.nodes[automatic].lastBody("/api/generate")?["options"]?["num_ctx"]?.intValue == 8192)
        // Both runners now serve requests of both kinds without another load.
        for _ in 0..<4 {
            #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: nil)).status == 200)
            #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: 8192)).status == 200)
        }
        #expect(await RunnerContextWireTests.loads(farm) == 3)
    }

    /// A farm whose requests set no length reloads nothing.
    @Test func runnersAreLeftAloneWhenNoRequestAsksALongerLength() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        for _ in 0..<3 {
            #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: nil)).status == 200)
        }
        await farm.gateway.monitor.waitForRounds(3)
        #expect(await farm.nodes[0].loadCount() == 1)  // the preload
    }
}
