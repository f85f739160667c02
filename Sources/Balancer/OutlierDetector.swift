/// Passive health, as Envoy's outlier detection does it: proxied requests that fail on a node
/// (connection refused, timeout, 5xx, a stream cut short) count against it, and after
/// `consecutiveFailures` in a row it is ejected for `baseEjectionMs` × the number of times it has
/// been ejected (capped), whatever its probes say. At most `maxEjectionPercent` of the nodes are
/// ejected at once, and when too few nodes are left (`panicThresholdPercent`) ejections are ignored.
/// Ollama's "server busy" 503 is load, not failure: it only keeps new work off the node for
/// `busyCooldownMs`. A node that refuses connections is skipped at once for `refusalSkipSeconds`,
/// whatever the ejection cap and panic threshold say: a refused connect proves the node cannot
/// take the request, and trying it again costs every request a round trip for nothing. Times are
/// the cluster's monotonic seconds.
public struct OutlierDetector: Sendable {
    public enum Signal: Sendable, Equatable {
        case success
        /// The node failed the request: it may be dead or broken.
        case failure
        /// The node said it is overloaded (Ollama's 503 "server busy"): back off briefly.
        case busy
        /// The node refused the connection (or it could not be made): nothing listens there now.
        case refused
    }

    /// How long a node that refused a connection is left out, unless it serves a request first.
    public static let refusalSkipSeconds = 3.0

    struct Entry {
        var consecutiveFailures = 0
        var ejections = 0
        var ejectedUntil = -Double.infinity
        var busyUntil = -Double.infinity
        var refusingUntil = -Double.infinity
    }

    /// A reload may change the settings; what each node has earned so far stays.
    public var settings: ClusterConfig.OutlierSettings
    private var entries: [NodeID: Entry] = [:]

    public init(settings: ClusterConfig.OutlierSettings) {
        self.settings = settings
    }

    /// Records how a request on `node` went; returns true when this made the node ejected.
    public mutating func record(_ signal: Signal, node: NodeID, nodeCount: Int, now: Double) -> Bool {
        var entry = entries[node, default: Entry()]
        defer { entries[node] = entry }
        switch signal {
        case .success:
            entry.consecutiveFailures = 0
            entry.refusingUntil = -.infinity
            // A node that stayed clean for twice its last ejection earns its multiplier back.
            if entry.ejections > 0, now > entry.ejectedUntil + 2 * ejectionSeconds(entry.ejections) { entry.ejections -= 1 }
            return false
        case .busy:
            entry.busyUntil = now + Double(settings.busyCooldownMs) / 1000
            return false
        case .failure, .refused:
            if signal == .refused { entry.refusingUntil = now + Self.refusalSkipSeconds }
            entry.consecutiveFailures += 1
            guard entry.consecutiveFailures >= settings.consecutiveFailures, now >= entry.ejectedUntil else { return false }
            let ejectedNow = entries.filter { $0.key != node && $0.value.ejectedUntil > now }.count
            guard Double(ejectedNow + 1) <= Double(nodeCount) * Double(settings.maxEjectionPercent) / 100 else { return false }
            entry.ejections += 1
            entry.ejectedUntil = now + ejectionSeconds(entry.ejections)
            entry.consecutiveFailures = 0
            return true
        }
    }

    private func ejectionSeconds(_ ejections: Int) -> Double {
        min(Double(settings.baseEjectionMs) * Double(ejections), Double(settings.maxEjectionMs)) / 1000
    }

    public func isEjected(_ node: NodeID, now: Double) -> Bool { (entries[node]?.ejectedUntil ?? -.infinity) > now }
    public func isCoolingDown(_ node: NodeID, now: Double) -> Bool { (entries[node]?.busyUntil ?? -.infinity) > now }
    public func isRefusing(_ node: NodeID, now: Double) -> Bool { (entries[node]?.refusingUntil ?? -.infinity) > now }

    /// A probe reached the node: whatever refused connections before is listening again.
    public mutating func probeSucceeded(_ node: NodeID) {
        entries[node]?.refusingUntil = -.infinity
    }

    /// Forgets nodes no longer configured (their requests in flight may still report; that is harmless).
    public mutating func keepOnly(_ nodes: Set<NodeID>) {
        entries = entries.filter { nodes.contains($0.key) }
    }
    public func ejectedUntil(_ node: NodeID, now: Double) -> Double? { isEjected(node, now: now) ? entries[node]?.ejectedUntil : nil }

    /// The snapshots placement should see: ejected and cooling-down nodes as unhealthy, unless so
    /// few nodes would be left that the farm is in panic and every probed-healthy node is used.
    public func apply(to snapshots: [NodeSnapshot], now: Double) -> [NodeSnapshot] {
        // Runs on every request: the array is copied (on write) only when a node is marked out.
        var result = snapshots
        // A suspect node is still in service (`NodeHealth.isInService`), so passive health applies to it
        // too: compared with `.healthy` alone, a node whose first probe had failed kept taking requests
        // through its ejection and its refused connections until the second probe.
        for index in result.indices where result[index].health.isInService && isRefusing(result[index].id, now: now) {
            result[index].health = .unhealthy
        }
        func sidelined(_ snapshot: NodeSnapshot) -> Bool { isEjected(snapshot.id, now: now) || isCoolingDown(snapshot.id, now: now) }
        var healthy = 0
        var usable = 0
        for snapshot in result where snapshot.health.isInService {
            healthy += 1
            if !sidelined(snapshot) { usable += 1 }
        }
        guard usable < healthy else { return result }
        if Double(usable) < Double(snapshots.count) * Double(settings.panicThresholdPercent) / 100 { return result }
        for index in result.indices where result[index].health.isInService && sidelined(result[index]) {
            result[index].health = .unhealthy
        }
        return result
    }
}
