import Balancer
import Testing

@testable import Proxy

/// A node whose `maxParallel` the config leaves out: TensorWall finds its slots by sending one
/// request more than it knows of while every known slot is busy (`ParallelSlotDiscovery`).
@Suite(.stopsFarms) struct ParallelProbeWireTests {
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    /// One round: a held stream takes the known slot; a second request, sent once the first has
    /// settled on the node, is the probe. Where the node has a second slot the probe's first token
    /// is awaited before the first stream is let go (under a loaded CPU a fixed pause was not
    /// always enough); where it has not, the probe can only start after the first ends.
    private func heldPair(_ farm: TestFarm, nodeHasSecondSlot: Bool) async throws -> (firstStatus: Int, probeStatus: Int) {
        // The last pair's requests must be given back first. A slot is released just after its
        // stream's end reached the client; on a loaded host the probe's release may come before
        // the held one's. This pair's first request would then find the only known slot busy and
        // go as the probe itself, and this pair's probe would queue behind the held stream for
        // the whole maximum wait.
        let settled = await farm.eventually { await farm.gateway.cluster.snapshots()[0].totalInFlight == 0 }
        try #require(settled, "the last pair's requests were never released")
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var heldEvents = EventReader(held)
        _ = try await heldEvents.next()
        try await Task.sleep(for: .milliseconds(300))  // past ParallelSlotDiscovery.settleSeconds
        async let probe = farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var probeEvents: EventReader?
        if nodeHasSecondSlot {
            probeEvents = EventReader(try await probe)
            _ = try await probeEvents?.next()
            // The first stream must go on clearly past the probe's first byte (ParallelSlotDiscovery.proofMarginSeconds).
            try await Task.sleep(for: .milliseconds(200))
        } else {
            try await Task.sleep(for: .milliseconds(300))
        }
        farm.nodes[0].holdStreams(false)
        while try await heldEvents.next() != nil {}
        if probeEvents == nil { probeEvents = EventReader(try await probe) }
        while try await probeEvents?.next() != nil {}
        return (held.status, probeEvents?.response.status ?? 0)
    }

    @Test func aNodeWithTwoSlotsIsFoundToHaveTwo() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, discoversParallelSlots: true, numParallel: 2)])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.knownParallelSlots() == 1)
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            let statuses = try await heldPair(farm, nodeHasSecondSlot: true)
            #expect(statuses.firstStatus == 200 && statuses.probeStatus == 200)
        }
        #expect(try await farm.knownParallelSlots(settlingOn: 2) == 2)
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["maxParallel"] == 2)
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["maxParallelFrom"] == "probed")
    }

    @Test func aNodeThatReportsSimulatedTimeIsStillFoundToHaveTwo() async throws {
        // A simulator slowed five times reporting the time it simulates: its `total_duration` says every
        // request left its slot long before its last byte came. Read as is, the first stream "ended"
        // before the probe was sent, and no probe ever proves a slot.
        let logs = LogCapture()
        let farm = try await TestFarm.start(
            [
                .init(
                    preload: ["llama3.2"], maxParallel: 1, discoversParallelSlots: true, numParallel: 2, tokensPerSecond: 0.1,
                    reportedDurationScale: 0.2)
            ], logs: logs)
        try await farm.waitUntilAllHealthy()
        for _ in 0..<ReportedDurationScale.samplesNeeded {  // answers long enough to show the node's clock
            let answer = try await farm.json(
                "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(answer.status == 200)
        }
        let scale = try await farm.json("GET", "/status").body["nodes"]?[0]?["reportedDurationScale"]?.doubleValue ?? 0
        #expect(scale > 2)  // about 5; more on a busy machine
        #expect(logs.text.contains("node node0 reports durations at 0."))
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            let statuses = try await heldPair(farm, nodeHasSecondSlot: true)
            #expect(statuses.firstStatus == 200 && statuses.probeStatus == 200)
        }
        #expect(try await farm.knownParallelSlots(settlingOn: 2) == 2)
    }

    @Test func aNodeWithOneSlotKeepsOneAndServesTheProbeAfterTheFirst() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, discoversParallelSlots: true, numParallel: 1)])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            let statuses = try await heldPair(farm, nodeHasSecondSlot: false)
            #expect(statuses.firstStatus == 200 && statuses.probeStatus == 200)
        }
        try await Task.sleep(for: .milliseconds(200))  // the last probe's slot is given back
        #expect(try await farm.knownParallelSlots() == 1)
    }

    @Test func aConfiguredMaxParallelIsNotProbedPast() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, numParallel: 2)])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<ParallelSlotDiscovery.proofsNeeded {
            _ = try await heldPair(farm, nodeHasSecondSlot: false)
        }
        #expect(try await farm.knownParallelSlots() == 1)
    }
}
