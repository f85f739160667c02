/// Loads that never end (see `StuckLoadWatch` in the proxy): a node whose loads look stuck takes no
/// load until it leaves service and comes back, or `stuckLoadsRetrySeconds` pass.
extension OllamaNode {
    /// A load here ran far past its prediction and was given up: no load is sent here (no cold load,
    /// no request joining one) until the node leaves service and comes back, or
    /// `stuckLoadsRetrySeconds` pass. Copies already loaded here go on serving. A node that was out
    /// of service since the load began (`timesOutOfService` has moved on from `outOfServiceCountAtStart`)
    /// hung or restarted, which health already handles: false, and nothing is marked.
    public func loadLooksStuck(now: Double, outOfServiceCountAtStart: Int) -> Bool {
        defer { currentSnapshot() }
        guard timesOutOfService == outOfServiceCountAtStart, health.isInService else { return false }
        loadsStuckSince = now
        return true
    }

    /// Whether loads here are taken for stuck (`loadLooksStuck`).
    public var loadsLookStuck: Bool { loadsStuckSince != nil }

    /// Trusts loads here again once `stuckLoadsRetrySeconds` have passed since they looked stuck.
    func retryStuckLoads(now: Double) {
        if let since = loadsStuckSince, now - since >= Self.stuckLoadsRetrySeconds { loadsStuckSince = nil }
    }
}
