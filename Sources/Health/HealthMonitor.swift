import Balancer

/// Probes every node each interval with `/api/tags` and `/api/ps`, feeds what it sees into the
/// node actors, and flips their health through `HealthTracker`, logging every change.
public actor HealthMonitor {
    private let cluster: Cluster
    private let settings: ClusterConfig.HealthSettings
    private let transport: any ProbeTransport
    private let clock: any Clock<Duration>
    private let wallClock: @Sendable () -> Double
    private let log: @Sendable (String) -> Void
    private var trackers: [HealthTracker]
    private var loop: Task<Void, Never>?
    private var afterRound: (@Sendable () async -> Void)?

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
        self.trackers = cluster.nodes.map { _ in
            HealthTracker(unhealthyAfter: settings.unhealthyAfter, healthyAfter: settings.healthyAfter)
        }
    }

    /// Runs after every probe round (the warm list is topped up from there).
    public func setAfterRound(_ action: @escaping @Sendable () async -> Void) {
        afterRound = action
    }

    public func start() {
        guard loop == nil else { return }
        loop = Task { await self.run() }
    }

    public func stop() {
        loop?.cancel()
        loop = nil
    }

    private func run() async {
        var first = true
        while !Task.isCancelled {
            await probeAll()
            if first {
                cluster.markFirstProbeRoundComplete()
                first = false
            }
            await afterRound?()
            do { try await clock.sleep(for: .milliseconds(settings.intervalMs), tolerance: nil) } catch { return }
        }
    }

    /// Probes every node concurrently and applies the results; one round.
    public func probeAll() async {
        let results = await withTaskGroup(of: (Int, Result<ProbeReport, ProbeFailure>, Double).self) { group in
            for node in cluster.nodes {
                group.addTask { [transport, settings] in
                    let started = ContinuousClock.now
                    let result = await Self.probe(node.config.url, transport: transport, timeout: .milliseconds(settings.timeoutMs))
                    let elapsed = started.duration(to: .now)
                    let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                    return (node.index, result, milliseconds)
                }
            }
            var results: [(Int, Result<ProbeReport, ProbeFailure>, Double)] = []
            for await result in group { results.append(result) }
            return results
        }
        for (index, result, latency) in results {
            await apply(result, latencyMs: latency, to: cluster.nodes[index])
        }
        cluster.capacityChanged()
    }

    private func apply(_ result: Result<ProbeReport, ProbeFailure>, latencyMs: Double, to node: OllamaNode) async {
        let now = wallClock()
        let change: NodeHealth?
        switch result {
        case .success(let report):
            await node.apply(report, outcome: ProbeOutcome(at: now, succeeded: true, latencyMs: latencyMs, error: nil), now: cluster.now)
            cluster.probeReached(node.index)
            change = trackers[node.index].record(success: true)
        case .failure(let failure):
            await node.recordProbeFailure(ProbeOutcome(at: now, succeeded: false, latencyMs: latencyMs, error: failure.description))
            change = trackers[node.index].record(success: false)
        }
        if let change {
            await node.setHealth(change)
            var line = "node \(node.config.name) (\(node.config.url)) is now \(change.rawValue)"
            if case .failure(let failure) = result { line += ": \(failure.description)" }
            log(line)
        }
    }

    static func probe(_ url: NodeURL, transport: any ProbeTransport, timeout: Duration) async -> Result<ProbeReport, ProbeFailure> {
        do {
            async let tags = transport.get(url, path: "/api/tags", timeout: timeout)
            async let ps = transport.get(url, path: "/api/ps", timeout: timeout)
            let (tagsAnswer, psAnswer) = try await (tags, ps)
            guard tagsAnswer.status == 200 else { return .failure(ProbeFailure("/api/tags answered \(tagsAnswer.status)")) }
            guard psAnswer.status == 200 else { return .failure(ProbeFailure("/api/ps answered \(psAnswer.status)")) }
            let report = ProbeReport(
                pulled: try ProbeDecoding.pulledModels(from: tagsAnswer.body), loaded: try ProbeDecoding.loadedModels(from: psAnswer.body))
            return .success(report)
        } catch let failure as ProbeFailure {
            return .failure(failure)
        } catch {
            return .failure(ProbeFailure("\(error)"))
        }
    }
}
