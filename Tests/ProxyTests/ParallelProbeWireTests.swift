import Balancer
import Testing

@testable import Proxy

/// A node whose `maxParallel` the config leaves out: TensorWall finds its slots by sending one
/// request more than it knows of while every known slot is busy (`ParallelSlotDiscovery`).
@Suite(.stopsFarms) struct ParallelProbeWireTests {
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    /// One round: a held stream takes the known slot; a second request, sent once the first has
    /// settled on the node, is the probe. Both are let go and read to the end.
    private func heldPair(_ farm: TestFarm) async throws -> (firstStatus: Int, probeStatus: Int) {
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var heldEvents = EventReader(held)
        _ = try await heldEvents.next()
        try await Task.sleep(for: .milliseconds(300))  // past ParallelSlotDiscovery.settleSeconds
        async let probe = farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        try await Task.sleep(for: .milliseconds(300))  // the probe's first token (if the node runs it) comes meanwhile
        farm.nodes[0].holdStreams(false)
        while try await heldEvents.next() != nil {}
        let probeResponse = try await probe
        var probeEvents = EventReader(probeResponse)
        while try await probeEvents.next() != nil {}
        return (held.status, probeResponse.status)
    }

    private func knownSlots(_ farm: TestFarm) async -> Int {
        await farm.gateway.cluster.snapshots()[0].maxParallel
    }

    @Test func aNodeWithTwoSlotsIsFoundToHaveTwo() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, discoversParallelSlots: true, numParallel: 2)])
        try await farm.waitUntilAllHealthy()
        #expect(await knownSlots(farm) == 1)
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            let statuses = try await heldPair(farm)
            #expect(statuses.firstStatus == 200 && statuses.probeStatus == 200)
        }
        #expect(await knownSlots(farm) == 2)
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["maxParallel"] == 2)
    }

    @Test func aNodeWithOneSlotKeepsOneAndServesTheProbeAfterTheFirst() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, discoversParallelSlots: true, numParallel: 1)])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            let statuses = try await heldPair(farm)
            #expect(statuses.firstStatus == 200 && statuses.probeStatus == 200)
            #expect(farm.nodes[0].requestCount("/api/chat") > 0)
        }
        #expect(await knownSlots(farm) == 1)
    }

    @Test func aConfiguredMaxParallelIsNotProbedPast() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, numParallel: 2)])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            _ = try await heldPair(farm)
        }
        #expect(await knownSlots(farm) == 1)
    }
}
