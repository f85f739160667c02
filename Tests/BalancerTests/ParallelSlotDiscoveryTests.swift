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

    /// When another request for the model ended, relayed before the one that may have waited for it.
    enum OtherEnd {
        /// When the wait did: it freed the slot.
        case whenTheWaitDid
        case at(Double)
        case none
    }

    /// A request sent at `sentAt` beside `running` others, whose answer's timings leave `uncounted`
    /// seconds. Returns the slots the node was lowered to, if it was.
    @discardableResult
    func request(
        _ discovery: inout ParallelSlotDiscovery, running: Int, uncounted: Double, sentAt: Double, known: Int = 4,
        otherEnd: OtherEnd = .whenTheWaitDid, generation: Double = 1
    ) -> Int? {
        switch otherEnd {
        case .whenTheWaitDid: discovery.requestEnded(model, endedAt: sentAt + uncounted)
        case .at(let end): discovery.requestEnded(model, endedAt: end)
        case .none: break
        }
        let report = SlotWaitReport(running: running, uncountedSeconds: uncounted, sentAt: sentAt, generationSeconds: generation)
        return discovery.requestEnded(model, endedAt: sentAt + uncounted + 1, waited: report, known: known)
    }

    /// A request sent with nothing else running, whose timings add up: TensorWall reads waits from then on.
    func answeredAlone() -> ParallelSlotDiscovery {
        var discovery = ParallelSlotDiscovery()
        request(&discovery, running: 0, uncounted: 0.01, sentAt: -10, otherEnd: .none)
        return discovery
    }

    @Test func twoWaitsForASlotInARowLowerTheSlotsCountedOn() {
        var discovery = answeredAlone()
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 0) == nil)  // one is not enough
        #expect(discovery.slots(configured: configuredFour) == 4)
        #expect(request(&discovery, running: 2, uncounted: 0.6, sentAt: 10) == 2)  // at most the larger of the two
        #expect(discovery.slots(configured: configuredFour) == 2)
    }

    @Test func aRequestServedAtOnceBesideAsManyBreaksTheRun() {
        var discovery = answeredAlone()
        request(&discovery, running: 1, uncounted: 0.9, sentAt: 0)
        request(&discovery, running: 1, uncounted: 0.01, sentAt: 10, otherEnd: .none)  // ran beside one: more than one slot
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 20) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
        // Waits shorter than templating and scheduling take, or with nothing else running, say nothing.
        #expect(request(&discovery, running: 1, uncounted: 0.05, sentAt: 30) == nil)
        #expect(request(&discovery, running: 0, uncounted: 3, sentAt: 40) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
    }

    @Test func whatRequestsSentAloneAlsoLeaveInTheTimingsIsNotAQueue() {
        // A node whose durations leave out half a second of every answer, waited for or not. Before a
        // request sent alone has shown that, nothing reads as a wait.
        var discovery = ParallelSlotDiscovery()
        #expect(request(&discovery, running: 1, uncounted: 0.6, sentAt: -20) == nil)
        #expect(request(&discovery, running: 1, uncounted: 0.6, sentAt: -10) == nil)
        request(&discovery, running: 0, uncounted: 0.5, sentAt: 0, otherEnd: .none)
        request(&discovery, running: 0, uncounted: 0.5, sentAt: 10, otherEnd: .none)
        #expect(request(&discovery, running: 1, uncounted: 0.6, sentAt: 20) == nil)
        #expect(request(&discovery, running: 1, uncounted: 0.6, sentAt: 30) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
        // A real wait still shows beyond it.
        request(&discovery, running: 1, uncounted: 1.4, sentAt: 40)
        #expect(request(&discovery, running: 1, uncounted: 1.4, sentAt: 50) == 1)
    }

    @Test func aRemainderLongerThanTheAnswersAheadIsNotAWaitForTheirSlots() {
        // A node that answers in a tenth of a millisecond on a machine too busy to run it: 300 requests
        // in its slots, remainders of 0.3 s, requests for the model ending all the time. The 300 ahead
        // would have freed a slot within 30 ms even one after another.
        var discovery = ParallelSlotDiscovery()
        request(&discovery, running: 0, uncounted: 0.0001, sentAt: -10, otherEnd: .none, generation: 0.0001)
        for sent in stride(from: 0.0, to: 10, by: 1) {
            #expect(request(&discovery, running: 300, uncounted: 0.3, sentAt: sent, known: 4096, generation: 0.0001) == nil)
        }
        var configured = configuredFour
        configured.maxParallel = 4096
        #expect(discovery.slots(configured: configured) == 4096)
        // Answers that hold a slot long enough to make such a wait still lower the slots.
        request(&discovery, running: 3, uncounted: 0.9, sentAt: 20, known: 4096, generation: 0.5)
        #expect(request(&discovery, running: 3, uncounted: 0.9, sentAt: 30, known: 4096, generation: 0.5) == 3)
        #expect(discovery.slots(configured: configured) == 3)
    }

    @Test func aWaitCountsOnlyWhenARequestForTheModelEndedAsItDid() {
        // A slot comes free when a request leaves it: a remainder with no end near its close is not a wait.
        var discovery = answeredAlone()
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 0, otherEnd: .none) == nil)
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 10, otherEnd: .at(10.3)) == nil)
        #expect(discovery.slots(configured: configuredFour) == 4)
        // The end that freed the slot may be relayed after the waiting request's own.
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 20, otherEnd: .none) == nil)
        #expect(discovery.requestEnded(model, endedAt: 20.92, known: 4) == nil)
        #expect(request(&discovery, running: 1, uncounted: 0.9, sentAt: 30, otherEnd: .none) == nil)
        #expect(discovery.requestEnded(model, endedAt: 30.88, known: 4) == 1)
        #expect(discovery.slots(configured: configuredFour) == 1)
    }

    @Test func statusSaysWhereTheSlotsComeFrom() {
        var discovery = ParallelSlotDiscovery()
        #expect(discovery.slotsSource(configured: configuredFour) == "cluster.json")
        #expect(discovery.slotsSource(configured: discovering) == "default")
        _ = probe(&discovery, at: 10, firstByte: 10.2, end: 11)
        _ = probe(&discovery, at: 20, firstByte: 20.2, end: nil)
        #expect(discovery.slotsSource(configured: discovering) == "probed")
        request(&discovery, running: 0, uncounted: 0.01, sentAt: 25, otherEnd: .none)
        request(&discovery, running: 1, uncounted: 0.9, sentAt: 30)
        request(&discovery, running: 1, uncounted: 0.9, sentAt: 40)
        #expect(discovery.slotsSource(configured: configuredFour) == "ollama queue")
        #expect(discovery.slotsSource(configured: discovering) == "ollama queue")
    }

    @Test func aSlotProvedAboveWhatWasSeenLiftsTheLowering() {
        var discovery = answeredAlone()
        request(&discovery, running: 1, uncounted: 0.9, sentAt: 0, known: 2)
        request(&discovery, running: 1, uncounted: 0.9, sentAt: 10, known: 2)
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
