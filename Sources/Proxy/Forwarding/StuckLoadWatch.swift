import Balancer

/// Gives up a load that runs far past its prediction, and takes the node's loads for stuck.
///
/// Ollama's scheduler can hang on a load while every loaded model goes on answering and every probe
/// passes (ollama/ollama issue 17408): health never sees it, and a request that needs a load there
/// waits for its head timeout, five minutes by default, with every request that joined the load
/// behind it. A load still running at twice its predicted time plus `timeouts.stuckLoadMs` is
/// dropped (closing its connection), the request is retried on another node, and the node gets no
/// load until it leaves service and comes back or `OllamaNode.stuckLoadsRetrySeconds` pass
/// (`OllamaNode.loadLooksStuck`). Its loaded models go on serving.
struct StuckLoadWatch: Sendable {
    /// `timeouts.stuckLoadMs`, in farm milliseconds; 0 turns the watch off.
    let marginMs: Int
    /// Real seconds per farm second (`Cluster.timeScale`).
    let timeScale: Double

    init(marginMs: Int, timeScale: Double) {
        self.marginMs = marginMs
        self.timeScale = timeScale
    }

    /// The watch a config asks for, on the cluster's clock.
    init(_ timeouts: ClusterConfig.Timeouts, cluster: Cluster) {
        self.init(marginMs: timeouts.stuckLoadMs, timeScale: cluster.timeScale)
    }

    /// When a load that started at `start`, predicted to take `predictedSeconds` of farm time, is
    /// taken for stuck; nil when the watch is off.
    func deadline(predictedSeconds: Double, from start: ContinuousClock.Instant = .now) -> ContinuousClock.Instant? {
        guard marginMs > 0 else { return nil }
        let farmMilliseconds = Double(marginMs) + 2 * max(0, predictedSeconds) * 1000
        return start + .milliseconds(Int64(farmMilliseconds * timeScale))
    }

    /// What placement predicted for the load a lease claimed, in farm seconds:
    /// `Lease.expectedStartSeconds`, which counts the loads ahead of it on the node, or the load's own
    /// prediction if longer (a planned load's lease predicts no start).
    static func predictedSeconds(for lease: Lease) -> Double {
        guard case .coldLoad(let load) = lease.claim else { return lease.expectedStartSeconds }
        return max(lease.expectedStartSeconds, load)
    }

    /// Starts watching the load a lease claimed, from now.
    func begin(_ lease: Lease) async -> WatchedLoad {
        let outOfServiceCount = await lease.node.timesOutOfService
        let started = ContinuousClock.now
        return WatchedLoad(
            lease: lease, startedAt: started, outOfServiceCount: outOfServiceCount,
            deadline: deadline(predictedSeconds: Self.predictedSeconds(for: lease), from: started), timeScale: timeScale)
    }
}

/// One load under a `StuckLoadWatch`: when it began, and how often its node had left service then
/// (a node that left service since hung or restarted, and its loads are not to blame).
struct WatchedLoad: Sendable {
    let lease: Lease
    let startedAt: ContinuousClock.Instant
    let outOfServiceCount: Int
    /// When the load is taken for stuck; nil when the watch is off.
    let deadline: ContinuousClock.Instant?
    let timeScale: Double

    /// Takes the node's loads for stuck, logs why, and returns the failure for the request that
    /// waited for the load.
    func giveUp(logger: Logger) async -> UpstreamFailure {
        let waited = Gateway.seconds(startedAt.duration(to: .now)) / timeScale
        let node = lease.nodeConfig.name
        guard await lease.node.loadLooksStuck(now: lease.cluster.now, outOfServiceCountAtStart: outOfServiceCount) else {
            return .nodeLeftService("node \(node) left service while it loaded \(lease.model)")
        }
        logger.warning(
            "node \(node) has not finished loading \(lease.model) after \(Int(waited.rounded())) s (about \(Int(StuckLoadWatch.predictedSeconds(for: lease).rounded())) s expected): its loads look stuck, and it gets none until it restarts; models loaded there go on serving"
        )
        return .loadStuck("node \(node) did not finish loading \(lease.model) within \(Int(waited.rounded())) s")
    }
}
