import Testing

@testable import Balancer

/// Placement reads each node's published snapshot without a hop to its actor
/// (`OllamaNode.publishedSnapshot`). That is only right if every change to what a snapshot shows
/// retires the published one: a stale snapshot would place requests on slots already taken or on
/// models already unloaded.
@Suite struct PublishedSnapshotTests {
    let models = ["llama3.2", "phi3:mini", "gemma2:2b", "qwen2.5:7b"].map { ModelName($0)! }

    func pulled() -> [PulledModel] {
        models.map { PulledModel(name: $0, displayName: $0.description, sizeBytes: 2 * gigabyte, digest: "d") }
    }

    /// Every field a snapshot shows, compared.
    func showTheSame(_ a: NodeSnapshot, _ b: NodeSnapshot) -> Bool {
        a.index == b.index && a.id == b.id && a.config == b.config && a.health == b.health && a.pulled == b.pulled
            && a.loaded == b.loaded && a.loading == b.loading && a.draining == b.draining && a.inFlight == b.inFlight
            && a.lastUsed == b.lastUsed && a.learnedLoadSecondsPerGB == b.learnedLoadSecondsPerGB && a.serviceSeconds == b.serviceSeconds
            && a.coldLoadsStarted == b.coldLoadsStarted && a.lastProbe == b.lastProbe && a.loadedAt == b.loadedAt
            && a.observedLimits == b.observedLimits && a.coldLoadsByModel == b.coldLoadsByModel && a.evictionsByModel == b.evictionsByModel
            && a.parallelDiscovery == b.parallelDiscovery && a.runnerSizes == b.runnerSizes
            && a.reportedDurationScale == b.reportedDurationScale && a.heldElsewhereBytes == b.heldElsewhereBytes
    }

    @Test func aPublishedSnapshotIsEitherCurrentOrWithheld() async {
        var random = FastRandom(seed: 11)
        var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)
        config.maxLoadedModels = 2
        let node = OllamaNode(config: config)
        var published = 0
        var withheld = 0
        var now = 0.0
        for step in 0..<3_000 {
            now += Double.random(in: 0...0.5, using: &random)
            let model = models.randomElement(using: &random)!
            switch Int.random(in: 0..<12, using: &random) {
            case 0:
                let loaded = models.filter { _ in Bool.random(using: &random) }.prefix(2).map {
                    LoadedModel(name: $0, sizeBytes: 2 * gigabyte, vramBytes: 3 * gigabyte, expiresAt: nil)
                }
                _ = await node.apply(
                    ProbeReport(pulled: pulled(), loaded: Array(loaded)),
                    outcome: ProbeOutcome(at: now, succeeded: true, latencyMs: 1, error: nil), now: now, sentAt: now - 0.01)
            case 1:
                await node.setHealth([.healthy, .healthy, .healthy, .unhealthy].randomElement(using: &random)!)
            case 2:
                _ = await node.tryAcquire(model, claim: .warmSlot, now: now)
            case 3:
                let victims = models.filter { $0 != model && Bool.random(using: &random) }.prefix(1)
                _ = await node.tryAcquire(
                    model, claim: .coldLoad(predictedSeconds: 4), now: now, evicting: Array(victims), drainingBusy: true)
            case 4:
                _ = await node.tryAcquire(model, claim: .joinLoad, now: now)
            case 5:
                await node.firstByteArrived(model, now: now)
            case 6, 7:
                var outcome = RequestOutcome(succeeded: Bool.random(using: &random), loadSeconds: 3, serviceSeconds: 1.5)
                outcome.nodeTotalSeconds = 4.4
                outcome.dispatchedAt = now - 4.5
                outcome.lastByteAt = now
                outcome.startedColdLoad = Bool.random(using: &random)
                _ = await node.release(model, outcome: outcome, now: now)
            case 8:
                await node.recordProbeFailure(ProbeOutcome(at: now, succeeded: false, latencyMs: 500, error: "timed out"))
            case 9:
                await node.finishDrain([model], now: now)
            case 10:
                var edited = config
                edited.weight = Int.random(in: 1...100, using: &random)
                await node.update(edited)
            default:
                await node.abandonDrain([model])
            }
            // Now and then nobody reads between changes; otherwise a read (a hop) publishes afresh.
            if step % 3 != 0 { _ = await node.snapshot(index: 0) }
            guard let seen = node.publishedSnapshot(index: 0) else {
                withheld += 1
                continue
            }
            published += 1
            let built = await node.builtSnapshot()
            #expect(showTheSame(seen, built), "step \(step): the published snapshot was stale")
        }
        // Both ways were exercised: snapshots handed out without a hop, and stale ones withheld.
        #expect(published > 1_000)
        #expect(withheld > 100)
    }

    @Test func aSnapshotIsPublishedUnderTheIndexItIsReadAt() async {
        let node = OllamaNode(config: ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2))
        _ = await node.snapshot(index: 0)
        #expect(node.publishedSnapshot(index: 5)?.index == 5)
    }
}
