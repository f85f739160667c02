import Testing

@testable import Balancer

/// Probing for a node's parallel slots, with the clock in hand.
@Suite struct ParallelSlotDiscoveryTests {
    let model = ModelName("llama3.2")!
    let discovering: ClusterConfig.NodeConfig = {
        var config = ClusterConfig.NodeConfig(name: "n", url: NodeURL("http://127.0.0.1:1")!)
        config.discoversParallelSlots = true
        return config
    }()

    /// One probe sent at `at` with one request running; its first byte at `firstByte`, the running
    /// request's end at `end` (nil: it ends after the probe).
    func probe(_ discovery: inout ParallelSlotDiscovery, at: Double, firstByte: Double?, end: Double?) -> Int? {
        #expect(discovery.mayProbe(model, running: 1, now: at, configured: discovering))
        discovery.probeSent(model, running: 1, now: at)
        if let end { discovery.requestEnded(model, endedAt: end) }
        return discovery.probeEnded(model, firstByteAt: firstByte, now: at + 2)
    }

    /// A written `maxParallel` of 4.
    let configuredFour: ClusterConfig.NodeConfig = {
        var config = ClusterConfig.NodeConfig(name: "n", url: NodeURL("http://127.0.0.1:1")!)
        config.maxParallel = 4
        return config
    }()

    @Test func twoWaitsForASlotInARowLowerTheSlotsCountedOn() {
        var discovery = ParallelSlotDiscovery()
        #expect(discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 4) == nil)  // one is not enough
        #expect(discovery.slots(configured: configuredFour) == 4)
        #expect(discovery.requestWaited(running: 2, waitedSeconds: 0.6, known: 4) == 2)  // at most the larger of the two
        #expect(discovery.slots(configured: configuredFour) == 2)
    }

    @Test func aRequestServedAtOnceBesideAsManyBreaksTheRun() {
        var discovery = ParallelSlotDiscovery()
        discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 4)
        discovery.requestWaited(running: 1, waitedSeconds: 0.01, known: 4)  // ran beside one: more than one slot
        #expect(discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 4) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
        // Waits shorter than templating and scheduling take, or with nothing else running, say nothing.
        #expect(discovery.requestWaited(running: 1, waitedSeconds: 0.05, known: 4) == nil)
        #expect(discovery.requestWaited(running: 0, waitedSeconds: 3, known: 4) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
    }

    @Test func statusSaysWhereTheSlotsComeFrom() {
        var discovery = ParallelSlotDiscovery()
        #expect(discovery.slotsSource(configured: configuredFour) == "cluster.json")
        #expect(discovery.slotsSource(configured: discovering) == "default")
        _ = probe(&discovery, at: 10, firstByte: 10.2, end: 11)
        _ = probe(&discovery, at: 20, firstByte: 20.2, end: nil)
        #expect(discovery.slotsSource(configured: discovering) == "probed")
        discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 4)
        discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 4)
        #expect(discovery.slotsSource(configured: configuredFour) == "ollama queue")
        #expect(discovery.slotsSource(configured: discovering) == "ollama queue")
    }

    @Test func aSlotProvedAboveWhatWasSeenLiftsTheLowering() {
        var discovery = ParallelSlotDiscovery()
        discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 2)
        discovery.requestWaited(running: 1, waitedSeconds: 0.9, known: 2)
        #expect(discovery.slots(configured: discovering) == 1)
        // Another client's requests had filled the slot; two probes prove a second one.
        _ = probe(&discovery, at: 10, firstByte: 10.2, end: 11)
        #expect(probe(&discovery, at: 20, firstByte: 20.2, end: nil) == 2)
        #expect(discovery.slots(configured: discovering) == 2)
    }

    @Test func aSlotMoreIsKnownAfterTwoProbesInARowAnsweredWhileTheOtherRan() {
        var discovery = ParallelSlotDiscovery()
        #expect(discovery.slots(configured: discovering) == 1)
        #expect(probe(&discovery, at: 10, firstByte: 10.2, end: 11) == nil)  // one proof is not enough
        #expect(discovery.slots(configured: discovering) == 1)
        #expect(probe(&discovery, at: 20, firstByte: 20.2, end: nil) == 2)
        #expect(discovery.slots(configured: discovering) == 2)
    }

    @Test func aProbeAnsweredOnlyAfterAnEndProvesNothing() {
        var discovery = ParallelSlotDiscovery()
        #expect(probe(&discovery, at: 10, firstByte: 10.2, end: 11) == nil)
        // Within the margin of the end: as a node with one slot would answer.
        #expect(probe(&discovery, at: 20, firstByte: 20.99, end: 21) == nil)
        #expect(probe(&discovery, at: 30, firstByte: 30.2, end: 31) == nil)  // the run of proofs started over
        #expect(discovery.slots(configured: discovering) == 1)
    }

    @Test func aRequestOverAtTheNodeBeforeTheProbeWasSentCountsAsEnded() {
        var discovery = ParallelSlotDiscovery()
        // TensorWall let go of the running request only after the probe left, but its last byte came before.
        #expect(probe(&discovery, at: 10, firstByte: 10.2, end: 9.9) == nil)
        #expect(probe(&discovery, at: 20, firstByte: 20.2, end: 19.9) == nil)
        #expect(discovery.slots(configured: discovering) == 1)
    }

    @Test func noProbeRightAfterARequestWasSentNorWhileOneIsOut() {
        var discovery = ParallelSlotDiscovery()
        discovery.requestSent(model, now: 10)
        #expect(!discovery.mayProbe(model, running: 1, now: 10.1, configured: discovering))
        #expect(discovery.mayProbe(model, running: 1, now: 10.01 + ParallelSlotDiscovery.settleSeconds, configured: discovering))
        discovery.probeSent(model, running: 1, now: 11)
        #expect(!discovery.mayProbe(model, running: 1, now: 12, configured: discovering))
        #expect(!discovery.mayProbe(model, running: ParallelSlotDiscovery.ceiling, now: 100, configured: discovering))
    }

    @Test func unprovenProbesPauseDiscovery() {
        var discovery = ParallelSlotDiscovery()
        var at = 10.0
        for _ in 0..<ParallelSlotDiscovery.attemptsPerLevel {
            #expect(probe(&discovery, at: at, firstByte: at + 1.2, end: at + 1) == nil)
            at += 10
        }
        #expect(!discovery.mayProbe(model, running: 1, now: at, configured: discovering))
        #expect(discovery.mayProbe(model, running: 1, now: at + ParallelSlotDiscovery.pauseSeconds, configured: discovering))
    }

    @Test func aConfiguredMaxParallelIsNeitherProbedNorRaised() {
        var configured = discovering
        configured.discoversParallelSlots = false
        configured.maxParallel = 2
        let discovery = ParallelSlotDiscovery()
        #expect(!discovery.mayProbe(model, running: 2, now: 100, configured: configured))
        #expect(discovery.slots(configured: configured) == 2)
    }

    @Test func cluster_jsonWithoutMaxParallelDiscoversAndWithItDoesNot() throws {
        let config = try ClusterConfig.parse(
            Array(#"{"nodes":[{"name":"a","url":"http://a:1"},{"name":"b","url":"http://b:1","maxParallel":2}]}"#.utf8))
        #expect(config.nodes[0].discoversParallelSlots && config.nodes[0].maxParallel == 1)
        #expect(!config.nodes[1].discoversParallelSlots)
    }
}
