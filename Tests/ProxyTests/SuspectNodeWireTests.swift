import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// A node that fails one probe is suspect (`NodeHealth.suspect`): probed again at once, passed over
/// for new requests while another node has a warm slot, and back at its next good probe.
@Suite(.stopsFarms) struct SuspectNodeWireTests {
    @Test func aNodeThatFailsAProbeIsProbedAgainWithoutWaitingForTheNextRound() async throws {
        // Rounds 1.5 s apart; three failed probes take a node out of service.
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"]), .init(preload: ["llama3.2"])], intervalMs: 1500, probeTimeoutMs: 300, unhealthyAfter: 3)
        try await farm.waitUntilAllHealthy()
        let roundsBefore = farm.nodes[1].requestCount("/api/tags")
        farm.nodes[0].setFault(.hang)
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        // Node 1 is probed once a round. Waiting a round between failures takes three rounds after
        // the hang; probing again at once takes the next round, and at most the one under way.
        #expect(farm.nodes[1].requestCount("/api/tags") - roundsBefore <= 2)
        farm.nodes[0].setFault(.none)
    }

    @Test func aSuspectNodeGetsNoNewRequestWhileAnotherHasAWarmSlotAndReturnsAtItsNextGoodProbe() async throws {
        // A probe times out after 3 s, so the node stays suspect for seconds while the second hangs too.
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"]), .init(preload: ["llama3.2"])], intervalMs: 100, probeTimeoutMs: 3000)
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.hang)
        #expect(await farm.eventually { await farm.health(of: 0) == .suspect })
        let status = try await farm.json("GET", "/status")
        #expect(status.body["nodes"]?.arrayValue?.first?["health"]?.stringValue == "suspect")
        let before = farm.nodes[0].requestCount("/api/chat")
        // Both nodes are warm with free slots: healthy, they would split these at random.
        for _ in 0..<10 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") == before)
        // The second probe, still waiting, is answered once the node recovers: back in service.
        farm.nodes[0].setFault(.none)
        #expect(await farm.eventually { await farm.health(of: 0) == .healthy })
    }
}
