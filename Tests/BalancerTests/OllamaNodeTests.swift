import Testing

@testable import Balancer

@Suite struct OllamaNodeTests {
    let model = ModelName("llama3.2")!

    func makeNode(maxParallel: Int = 1, maxLoaded: Int = 3) async -> OllamaNode {
        var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: maxParallel)
        config.maxLoadedModels = maxLoaded
        let node = OllamaNode(config: config)
        await node.setHealth(.healthy)
        let pulled = ["llama3.2", "other", "third"].map {
            PulledModel(name: ModelName($0)!, displayName: $0, sizeBytes: 2 * gigabyte, digest: "d")
        }
        await node.apply(
            ProbeReport(pulled: pulled, loaded: []), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        return node
    }

    @Test func aColdLoadIsVisibleAsLoadingUntilTheFirstByte() async {
        let node = await makeNode(maxParallel: 2)
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 0) == false)
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0) == false)  // one load, not two
        #expect(await node.tryAcquire(model, claim: .joinLoad, now: 0.5))
        #expect(await node.tryAcquire(model, claim: .joinLoad, now: 0.5) == false)  // both slots taken
        #expect(await node.snapshot(index: 0).isLoading(model))
        await node.firstByteArrived(model, now: 0)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.isLoaded(model) && !snapshot.isLoading(model))
        #expect(snapshot.coldLoadsStarted == 1)
    }

    /// A cold load priced with no load under way here is refused once another has started: Ollama
    /// would load them one after the other, which the request did not count. Priced with that load
    /// ahead, it is taken.
    @Test func aColdLoadPricedWithFewerLoadsUnderWayThanNowIsRefused() async {
        let node = await makeNode()
        let other = ModelName("other")!
        #expect(await node.tryAcquireCounting(model, claim: .coldLoad(predictedSeconds: 3), now: 0, loadsSeen: 0) != nil)
        #expect(await node.tryAcquireCounting(other, claim: .coldLoad(predictedSeconds: 3), now: 0, loadsSeen: 0) == nil)
        #expect(await node.tryAcquireCounting(other, claim: .coldLoad(predictedSeconds: 3), now: 0, loadsSeen: 1) != nil)
        #expect(await node.snapshot(index: 0).loading.count == 2)
    }

    /// How fast a node starts answering is learned from streamed answers on a warm slot, and not from
    /// a conversation's next turn on the node that served the last one (a prompt-cache hit).
    @Test func theFirstTokenTimeIsLearnedFromWarmAnswersButNotFromContinuedConversations() async {
        let node = await makeNode(maxParallel: 2)
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        await node.firstByteArrived(model, now: 3)
        _ = await node.release(model, outcome: RequestOutcome(succeeded: true, serviceSeconds: 4), now: 4)
        func answer(sentAt: Double, firstByteAfter: Double, continued: Bool) async {
            #expect(await node.tryAcquireCounting(model, claim: .warmSlot, now: sentAt) != nil)
            await node.firstByteArrived(model, now: sentAt + firstByteAfter)
            var outcome = RequestOutcome(succeeded: true, serviceSeconds: 1)
            outcome.answerStart = .reported
            outcome.dispatchedAt = sentAt
            outcome.runningWhenSent = 0
            outcome.firstByteAt = sentAt + firstByteAfter
            outcome.continuedConversation = continued
            _ = await node.release(model, outcome: outcome, now: sentAt + 1)
        }
        func learned() async -> Double? { await node.snapshot(index: 0).firstTokenSeconds[model] }
        #expect(await learned() == nil)  // a cold load's first byte is the load's
        await answer(sentAt: 10, firstByteAfter: 0.4, continued: false)
        #expect(abs((await learned() ?? 0) - 0.4) < 1e-9)
        await answer(sentAt: 20, firstByteAfter: 0.02, continued: true)
        #expect(abs((await learned() ?? 0) - 0.4) < 1e-9)
        await answer(sentAt: 30, firstByteAfter: 0.2, continued: false)
        #expect(abs((await learned() ?? 0) - 0.3) < 1e-9)
    }

    @Test func aWholeAnswersReleaseReportsItsFirstByteToo() async {
        // Not streamed, the answer's head came with its end and no `firstByteArrived` was sent; the
        // client then left while the body came. The node did load the model.
        let node = await makeNode(maxParallel: 2)
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        var outcome = RequestOutcome(succeeded: false)
        outcome.answerStart = .unreported
        _ = await node.release(model, outcome: outcome, now: 5)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.isLoaded(model) && !snapshot.isLoading(model))
    }

    /// A node whose `maxParallel` the config leaves out (it starts from 1 and probes), with the model loaded.
    func discoveringNodeWithTheModelWarm() async -> OllamaNode {
        var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!)
        config.discoversParallelSlots = true
        let node = OllamaNode(config: config)
        await node.setHealth(.healthy)
        let pulled = [PulledModel(name: model, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "d")]
        let warm = [LoadedModel(name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil)]
        await node.apply(
            ProbeReport(pulled: pulled, loaded: warm), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        return node
    }

    @Test func aParallelProbeWaitsUntilEveryRequestCountedHasBegunAnswering() async {
        let node = await discoveringNodeWithTheModelWarm()
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 0))
        // Sent a second ago but not answering yet (waiting for Ollama, behind a load perhaps): a probe
        // now could pass it at the node and take its slot.
        #expect(await node.tryAcquire(model, claim: .parallelProbe, now: 1) == false)
        await node.firstByteArrived(model, now: 1)
        #expect(await node.tryAcquire(model, claim: .parallelProbe, now: 1))
    }

    @Test func aProbeSentBeforeALoadFinishedOrAnUnloadDoesNotUndoThem() async {
        let node = await makeNode(maxParallel: 2)
        let other = ModelName("other")!
        let pulled = await node.snapshot(index: 0).pulled.values.map { $0 }
        func loaded(_ names: [ModelName]) -> [LoadedModel] {
            names.map { LoadedModel(name: $0, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil) }
        }
        let outcome = ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil)
        await node.apply(ProbeReport(pulled: pulled, loaded: loaded([other])), outcome: outcome, now: 1, sentAt: 1)
        // A load finishes at 10 while a probe sent at 9 (which saw nothing of it) is still out.
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 5))
        await node.release(model, outcome: RequestOutcome(succeeded: true, loadSeconds: 4, serviceSeconds: 1), now: 10)
        await node.apply(ProbeReport(pulled: pulled, loaded: loaded([other])), outcome: outcome, now: 11, sentAt: 9)
        #expect(await node.snapshot(index: 0).isLoaded(model))  // the older probe does not unload it
        // The next probe, sent after, is believed: Ollama has since dropped it.
        await node.apply(ProbeReport(pulled: pulled, loaded: loaded([other])), outcome: outcome, now: 13, sentAt: 12)
        #expect(await node.snapshot(index: 0).isLoaded(model) == false)
        // TensorWall unloads `other` at 20 for a load; a probe sent at 19 still lists it.
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 20, evicting: [other]))
        await node.apply(ProbeReport(pulled: pulled, loaded: loaded([other])), outcome: outcome, now: 21, sentAt: 19)
        #expect(await node.snapshot(index: 0).isLoaded(other) == false)
    }

    /// Ollama lists every model with requests running, so a busy model missing from a probe sent
    /// after it loaded is not loaded: Ollama unloaded it once idle, and the requests sent since wait
    /// for the reload it starts for them. Counted loaded, it kept drawing requests that reloaded it in
    /// place of another model, unseen; counted loading, new requests join that reload.
    @Test func aBusyModelMissingFromAProbeSentAfterItsLoadIsBeingLoadedAgain() async {
        let node = await makeNode(maxParallel: 2)
        let other = ModelName("other")!
        let pulled = await node.snapshot(index: 0).pulled.values.map { $0 }
        let both = [model, other].map { LoadedModel(name: $0, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil) }
        let outcome = ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil)
        await node.apply(ProbeReport(pulled: pulled, loaded: both), outcome: outcome, now: 1, sentAt: 1)
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 5))
        let learned = await node.apply(ProbeReport(pulled: pulled, loaded: [both[1]]), outcome: outcome, now: 11, sentAt: 10)
        #expect(learned == "llama3.2:latest gone from /api/ps with requests waiting for it: Ollama loads it again")
        var snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoaded(model) && snapshot.isLoading(model) && snapshot.isLoaded(other))
        #expect(snapshot.loading[model]?.predictedSeconds == 3)  // 1 s and 1 s/GB until a load is timed here
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 12) == false)
        #expect(await node.tryAcquire(model, claim: .joinLoad, now: 12))
        // Its first answer starts once Ollama has loaded it again: it is loaded from then on.
        await node.firstByteArrived(model, now: 14)
        snapshot = await node.snapshot(index: 0)
        #expect(snapshot.isLoaded(model) && !snapshot.isLoading(model))
    }

    @Test func releasesNeverDriveInFlightNegativeAndTeachTheLoadRate() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        var joined = RequestOutcome(succeeded: true, loadSeconds: 0.5, serviceSeconds: 10)
        await node.release(model, outcome: joined, now: 10)  // waited for someone else's load: teaches nothing
        #expect(await node.snapshot(index: 0).learnedLoadSecondsPerGB == nil)
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 10))
        joined.loadSeconds = 9
        joined.startedColdLoad = true
        await node.release(model, outcome: joined, now: 10)
        await node.release(model, outcome: .unservedNoFault, now: 10)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.inFlight(model) == 0)
        #expect(snapshot.learnedLoadSecondsPerGB == 4)  // (9 s - 1 s base) / 2 GB
        #expect(snapshot.serviceSeconds[model] == 10)
        #expect(snapshot.isLoaded(model))
    }

    /// Answers for `model`, one every 10 s from `start`, each 5 s here and reported as 1 s: enough to
    /// show the node reports a fifth of the time (`ReportedDurationScale`).
    func answersShowAFifthOfTheTime(_ node: OllamaNode, _ model: ModelName, from start: Double) async {
        for sent in stride(from: start, to: start + Double(ReportedDurationScale.samplesNeeded) * 10, by: 10) {
            #expect(await node.tryAcquire(model, claim: .warmSlot, now: sent))
            var answer = RequestOutcome(succeeded: true)
            answer.dispatchedAt = sent
            answer.lastByteAt = sent + 5
            answer.nodeTotalSeconds = 1
            await node.release(model, outcome: answer, now: sent + 5)
        }
    }

    /// A node whose answers for another model have shown, by time 60, that it reports a fifth of the time.
    func nodeKnownToReportAFifth() async -> OllamaNode {
        let node = await makeNode()
        let other = ModelName("other")!
        #expect(await node.tryAcquire(other, claim: .coldLoad(predictedSeconds: 3), now: 0))
        await node.release(other, outcome: RequestOutcome(succeeded: true), now: 5)
        await answersShowAFifthOfTheTime(node, other, from: 10)
        return node
    }

    /// A request that started a cold load, sent at `sentAt`: a load of 9 s here and 1 s of answer,
    /// reported as 1.8 s of load in 2 s all told.
    func coldLoadReportedAsAFifth(sentAt: Double) -> RequestOutcome {
        var load = RequestOutcome(succeeded: true, loadSeconds: 1.8)
        load.startedColdLoad = true
        load.dispatchedAt = sentAt
        load.lastByteAt = sentAt + 10
        load.nodeTotalSeconds = 2
        return load
    }

    @Test func aNodeThatReportsAFifthOfTheTimeTeachesTheLoadRateAndServiceItHasHere() async {
        // A simulator slowed five times that reports the seconds it simulates.
        let node = await nodeKnownToReportAFifth()
        #expect(await node.snapshot(index: 0).reportedDurationScale == 5)
        // A cold load that took 9 s here, reported as 1.8 s, and an answer after it of 1 s here.
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 100))
        await node.release(model, outcome: coldLoadReportedAsAFifth(sentAt: 100), now: 110)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.learnedLoadSecondsPerGB == 4)  // (9 s - 1 s base) / 2 GB
        #expect(snapshot.serviceSeconds[model] == 1)
    }

    @Test func aLoadSeenBeforeTheNodesClockWasKnownIsReadAgainOnIt() async {
        // The cold start's load comes first: 9 s here, reported as 1.8 s.
        let node = await makeNode()
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        var load = RequestOutcome(succeeded: true, loadSeconds: 1.8)
        load.startedColdLoad = true
        await node.release(model, outcome: load, now: 10)
        #expect(await node.snapshot(index: 0).learnedLoadSecondsPerGB == 0.4)  // (1.8 s - 1 s base) / 2 GB, as reported
        // Then answers show the node reports a fifth of the time.
        await answersShowAFifthOfTheTime(node, model, from: 20.0)
        #expect(await node.snapshot(index: 0).learnedLoadSecondsPerGB == 4)  // (9 s - 1 s base) / 2 GB
    }

    @Test func beforeTheNodesClockIsKnownAnAnswersOwnRatioStandsIn() async {
        // The cold start's first answer: a load of 9 s here and 1 s of answer, reported as 1.8 s and 2 s.
        let node = await makeNode()
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        await node.release(model, outcome: coldLoadReportedAsAFifth(sentAt: 0), now: 10)
        let snapshot = await node.snapshot(index: 0)
        #expect(snapshot.reportedDurationScale == 1)  // one answer does not make the node's clock
        #expect(snapshot.learnedLoadSecondsPerGB == 4)  // (9 s - 1 s base) / 2 GB
        #expect(snapshot.serviceSeconds[model] == 1)
    }

    @Test func probesJudgedBeforeTheNodesClockWasKnownDoNotPauseDiscovery() async {
        let node = await discoveringNodeWithTheModelWarm()
        /// One round: a request running, a probe beside it whose first byte came 1.5 s in. The node
        /// reports a fifth of the time, so the running request's `total_duration` of 0.6 s reads as
        /// an end 0.6 s in, before the probe was even sent.
        func probeRound(at start: Double) async -> Bool {
            #expect(await node.tryAcquire(model, claim: .warmSlot, now: start))
            await node.firstByteArrived(model, now: start + 0.1)
            guard await node.tryAcquire(model, claim: .parallelProbe, now: start + 1) else {
                await node.release(model, outcome: .unservedNoFault, now: start + 3)
                return false
            }
            var running = RequestOutcome(succeeded: true)
            running.dispatchedAt = start
            running.nodeTotalSeconds = 0.6
            running.answerStart = .reported
            await node.release(model, outcome: running, now: start + 3)
            var probe = RequestOutcome(succeeded: true)
            probe.wasParallelProbe = true
            probe.dispatchedAt = start + 1
            probe.firstByteAt = start + 1.5
            await node.release(model, outcome: probe, now: start + 4)
            return true
        }
        for round in 0..<ParallelSlotDiscovery.attemptsPerLevel { #expect(await probeRound(at: Double(round) * 10)) }
        #expect(await probeRound(at: 100) == false)  // three unproven probes pause discovery
        // Answers then show the node's clock: the probes proved nothing either way, and probing goes on.
        await answersShowAFifthOfTheTime(node, model, from: 200.0)
        #expect(await probeRound(at: 300))
    }

    @Test func aLoadTimedHereIsNotScaledByTheNodesClock() async {
        // A preload (its answer has no load_duration) that took 9 s here, on a node reporting a fifth of the time.
        let node = await nodeKnownToReportAFifth()
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 100))
        var preload = RequestOutcome(succeeded: true, loadSeconds: 9)
        preload.loadTimedHere = true
        preload.startedColdLoad = true
        preload.heldSlotForAnswer = false
        preload.dispatchedAt = 100
        await node.release(model, outcome: preload, now: 109)
        #expect(await node.snapshot(index: 0).learnedLoadSecondsPerGB == 4)  // (9 s - 1 s base) / 2 GB
    }

    @Test func serviceTimeLeavesOutALoadWaitedForAndIsNotTaughtByAPreload() async {
        let node = await makeNode(maxParallel: 2)
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        #expect(await node.tryAcquire(model, claim: .joinLoad, now: 0))
        await node.firstByteArrived(model, now: 4)  // the load ended at 4
        var starter = RequestOutcome(succeeded: true, loadSeconds: 3.5, serviceSeconds: 7)
        starter.startedColdLoad = true
        await node.release(model, outcome: starter, now: 7)
        #expect(await node.snapshot(index: 0).serviceSeconds[model] == 7)
        // The joiner was dispatched at 0 and answered at 7, but held a working slot only from 4.
        var joiner = RequestOutcome(succeeded: true, loadSeconds: 0.1, serviceSeconds: 7)
        joiner.dispatchedAt = 0
        await node.release(model, outcome: joiner, now: 7)
        #expect(await node.snapshot(index: 0).serviceSeconds[model] == 5)  // the mean of 7 and 3
        let learned = await node.snapshot(index: 0).serviceSeconds[model]
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 8))
        var preload = RequestOutcome(succeeded: true, loadSeconds: 0, serviceSeconds: 0.01)
        preload.heldSlotForAnswer = false
        await node.release(model, outcome: preload, now: 8)
        #expect(await node.snapshot(index: 0).serviceSeconds[model] == learned)
    }

    @Test func aFailedColdLoadIsForgotten() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 0))
        await node.release(model, outcome: .unservedNoFault, now: 1)
        let snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoading(model) && !snapshot.isLoaded(model))
    }

    @Test func startingALoadAccountsForTheEvictionItCauses() async {
        let node = await makeNode(maxLoaded: 2)
        for (time, name) in [(1.0, "other"), (2.0, "third")] {
            let other = ModelName(name)!
            #expect(await node.tryAcquire(other, claim: .coldLoad(predictedSeconds: 1), now: time))
            await node.release(other, outcome: RequestOutcome(succeeded: true), now: time + 1)
        }
        #expect(await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: 3), now: 5))
        let snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoaded(ModelName("other")!))  // least recently used, idle: Ollama unloads it
        #expect(snapshot.isLoaded(ModelName("third")!))
    }

    @Test func anUnhealthyNodeTakesNothing() async {
        let node = OllamaNode(config: ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!))
        #expect(await node.tryAcquire(model, claim: .any(predictedLoadSeconds: 1), now: 0) == false)
    }
}
