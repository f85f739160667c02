import Balancer
import WireFormats

/// Probes every node each interval with `/api/tags` and `/api/ps` (and now and then
/// `/api/version`), feeds what it sees into the node actors, and flips their health through
/// `HealthTracker`, logging every change. It reads the cluster's membership every round, so nodes
/// a reload adds are probed from the next round on.
public actor HealthMonitor {
    private let cluster: Cluster
    private var settings: ClusterConfig.HealthSettings
    private let transport: any ProbeTransport
    private let clock: any Clock<Duration>
    private let wallClock: @Sendable () -> Double
    private let log: @Sendable (String) -> Void
    /// Each node's run of probe results, with the URL it was probed at: a name moved to another URL
    /// is a new node and starts unknown.
    private var trackers: [NodeID: (url: NodeURL, tracker: HealthTracker)] = [:]
    /// Rounds since each node's Ollama version was read. A node's version is asked at every probe
    /// until it answers, while it is not healthy (a node that went away may come back upgraded),
    /// and every `versionRereadRounds` rounds, which also catches an upgrade made between two probes.
    private var roundsSinceVersion: [NodeID: Int] = [:]
    static let versionRereadRounds = 30
    private var afterRound: (@Sendable () async -> Void)?
    private var beforeLeavingService: (@Sendable (NodeID) async -> Void)?
    private var roundsCompleted = 0
    private var finished = false
    private var roundWaiters: [(round: Int, continuation: CheckedContinuation<Void, Never>)] = []

    public init(
        cluster: Cluster, settings: ClusterConfig.HealthSettings, transport: any ProbeTransport,
        clock: any Clock<Duration> = ContinuousClock(), wallClock: @escaping @Sendable () -> Double,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.cluster = cluster
        self.settings = settings
        self.transport = transport
        self.clock = clock
        self.wallClock = wallClock
        self.log = log
    }

    /// Takes a reload's probe settings; each node's run of successes and failures carries on.
    public func update(_ settings: ClusterConfig.HealthSettings) {
        self.settings = settings
        for id in trackers.keys {
            trackers[id]?.tracker.update(unhealthyAfter: settings.unhealthyAfter, healthyAfter: settings.healthyAfter)
        }
    }

    /// Runs after every probe round (the warm list is topped up from there).
    public func setAfterRound(_ action: (@Sendable () async -> Void)?) {
        afterRound = action
    }

    /// Runs as a node's probes take it out of service, before the node is marked out: requests
    /// queued or waiting on it move the moment it is (any request that ends wakes them), and they
    /// should find the plan made without it. Made only at the round's end, the plan came after
    /// them: on the placement benchmark's hang, a request woken as the node left priced its cold
    /// load against the copies the round before had released, and unloaded another model's last
    /// copy where the new plan released a spare one.
    public func setBeforeLeavingService(_ action: (@Sendable (NodeID) async -> Void)?) {
        beforeLeavingService = action
    }

    /// Probes every `intervalMs` until the calling task is cancelled (its owner runs it as a
    /// service); whoever waits for rounds is let go then, as no more will come.
    public func run() async {
        defer {
            finished = true
            let waiters = roundWaiters
            roundWaiters = []
            for waiter in waiters { waiter.continuation.resume() }
        }
        var first = true
        while !Task.isCancelled {
            await probeAll()
            if first {
                cluster.markFirstProbeRoundComplete()
                first = false
            }
            await afterRound?()
            finishRound()
            do { try await clock.sleep(for: .milliseconds(settings.intervalMs), tolerance: nil) } catch { return }
        }
    }

    /// Returns once `count` more probe rounds (and the work after each) have finished: for whoever
    /// must know the farm was looked at again, not guess how long that takes.
    public func waitForRounds(_ count: Int) async {
        let target = roundsCompleted + count
        guard count > 0, !finished else { return }
        await withCheckedContinuation { roundWaiters.append((target, $0)) }
    }

    private func finishRound() {
        roundsCompleted += 1
        let due = roundWaiters.filter { $0.round <= roundsCompleted }
        roundWaiters.removeAll { $0.round <= roundsCompleted }
        for waiter in due { waiter.continuation.resume() }
    }

    /// Probes every node concurrently and applies each result as it comes; one round. A node
    /// that fails a probe while in service is probed again after `suspectReprobeDelayMs` rather than
    /// a whole interval later (HAProxy's `fastinter`), within the same round: the round, and the plan
    /// made after it, end with the node's fate decided.
    public func probeAll() async {
        let nodes = cluster.nodes
        let members = Set(nodes.map(\.id))
        trackers = trackers.filter { members.contains($0.key) }
        roundsSinceVersion = roundsSinceVersion.filter { members.contains($0.key) }.mapValues { $0 + 1 }
        let versionAskedOf = Set(nodes.filter(needsVersion).map(\.id))
        let timeout = Duration.milliseconds(settings.timeoutMs)
        let reprobeDelay = Duration.milliseconds(settings.suspectReprobeDelayMs)
        await withTaskGroup(of: ProbeResult.self) { group in
            for node in nodes {
                let askVersion = versionAskedOf.contains(node.id)
                group.addTask { [cluster, transport, wallClock] in
                    await Self.probe(
                        node, askVersion: askVersion, transport: transport, timeout: timeout, cluster: cluster, wallClock: wallClock)
                }
            }
            for await result in group {
                await apply(result)
                guard wantsAnotherProbeSoon(result.node) else { continue }
                group.addTask { [cluster, transport, clock, wallClock] in
                    try? await clock.sleep(for: reprobeDelay, tolerance: nil)
                    return await Self.probe(
                        result.node, askVersion: true, transport: transport, timeout: timeout, cluster: cluster, wallClock: wallClock)
                }
            }
        }
        cluster.capacityChanged()
    }

    private func needsVersion(_ node: OllamaNode) -> Bool {
        guard let rounds = roundsSinceVersion[node.id], trackers[node.id]?.tracker.state == .healthy else { return true }
        return rounds >= Self.versionRereadRounds
    }

    private func wantsAnotherProbeSoon(_ node: OllamaNode) -> Bool {
        guard !Task.isCancelled, let entry = trackers[node.id], entry.url == node.url else { return false }
        return entry.tracker.wantsAnotherProbeSoon
    }

    /// One node's probe: what it answered, how long it took, and when it was sent on the cluster's
    /// clock (what a node's actor learns after that instant is newer than the probe).
    private struct ProbeResult: Sendable {
        let node: OllamaNode
        let result: Result<ProbeReport, ProbeFailure>
        let latencyMs: Double
        let sentAt: Double
    }

    private static func probe(
        _ node: OllamaNode, askVersion: Bool, transport: any ProbeTransport, timeout: Duration, cluster: Cluster,
        wallClock: @Sendable () -> Double
    ) async -> ProbeResult {
        let sentAt = cluster.now
        let started = ContinuousClock.now
        let result = await probe(node.url, askVersion: askVersion, transport: transport, timeout: timeout, wallClock: wallClock)
        let elapsed = started.duration(to: .now)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        return ProbeResult(node: node, result: result, latencyMs: milliseconds, sentAt: sentAt)
    }

    private func apply(_ probe: ProbeResult) async {
        let (node, result, latencyMs, sentAt) = (probe.node, probe.result, probe.latencyMs, probe.sentAt)
        let now = wallClock()
        switch result {
        case .success(let report):
            if report.version != nil { roundsSinceVersion[node.id] = 0 }
            let learned = await node.apply(
                cluster.withRunnerNames(report), outcome: ProbeOutcome(at: now, succeeded: true, latencyMs: latencyMs, error: nil),
                now: cluster.now,
                sentAt: sentAt)
            if let learned { log("node \(node.id): \(learned)") }
            cluster.probeReached(node.id)
        case .failure(let failure):
            await node.recordProbeFailure(ProbeOutcome(at: now, succeeded: false, latencyMs: latencyMs, error: failure.description))
        }
        // Read, record and store the tracker with no suspension in between: a reload's extra round may interleave.
        var tracker =
            trackers[node.id].flatMap { $0.url == node.url ? $0.tracker : nil }
            ?? HealthTracker(unhealthyAfter: settings.unhealthyAfter, healthyAfter: settings.healthyAfter)
        let succeeded = if case .success = result { true } else { false }
        let wasInService = tracker.state.isInService
        let change = tracker.record(success: succeeded)
        trackers[node.id] = (node.url, tracker)
        if let change {
            if wasInService && !change.isInService { await beforeLeavingService?(node.id) }
            await node.setHealth(change)
            var line = "node \(node.id) (\(node.url)) is now \(change.rawValue)"
            if case .failure(let failure) = result { line += ": \(failure.description)" }
            log(line)
            cluster.capacityChanged()  // requests waiting for a slot look at the node again
        }
    }

    /// `/api/tags` and `/api/ps` of one node, and `/api/version` when asked; when the node's clock is
    /// off TensorWall's (`wallClock`), the runners' `expires_at` is moved onto TensorWall's clock by
    /// the `Date` of the `/api/ps` answer.
    static func probe(
        _ url: NodeURL, askVersion: Bool = false, transport: any ProbeTransport, timeout: Duration, wallClock: @Sendable () -> Double
    ) async -> Result<ProbeReport, ProbeFailure> {
        do {
            async let tags = transport.get(url, path: "/api/tags", timeout: timeout)
            async let ps = transport.get(url, path: "/api/ps", timeout: timeout)
            async let version = Self.version(of: url, asked: askVersion, transport: transport, timeout: timeout)
            let (tagsAnswer, psAnswer) = try await (tags, ps)
            guard tagsAnswer.status == 200 else { return .failure(ProbeFailure("/api/tags answered \(tagsAnswer.status)")) }
            guard psAnswer.status == 200 else { return .failure(ProbeFailure("/api/ps answered \(psAnswer.status)")) }
            let loaded = try ProbeDecoding.loadedModels(from: psAnswer.body)
            let report = ProbeReport(
                pulled: try ProbeDecoding.pulledModels(from: tagsAnswer.body),
                loaded: NodeClock.expiriesOnLocalClock(loaded, nodeDate: psAnswer.date.flatMap(HTTPDate.parse), localNow: wallClock()),
                version: await version)
            return .success(report)
        } catch let failure as ProbeFailure {
            return .failure(failure)
        } catch {
            return .failure(ProbeFailure("\(error)"))
        }
    }

    /// What the node's `/api/version` says, or nil (also when not `asked`): a node that does not answer
    /// it (a proxy in front of Ollama, say) is probed as before.
    private static func version(of url: NodeURL, asked: Bool, transport: any ProbeTransport, timeout: Duration) async -> String? {
        guard asked, let answer = try? await transport.get(url, path: "/api/version", timeout: timeout), answer.status == 200 else {
            return nil
        }
        return ProbeDecoding.version(from: answer.body)
    }
}
