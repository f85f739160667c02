import Balancer

/// Turns a node's probe results into health transitions with hysteresis: `unhealthyAfter`
/// consecutive failures to leave service, `healthyAfter` consecutive successes to return.
///
/// Legal transitions: unknown → healthy (first success), unknown → unhealthy, healthy → suspect
/// (a failure short of `unhealthyAfter`), suspect → healthy (one success: it never left service),
/// healthy or suspect → unhealthy, unhealthy → healthy. A node never returns to unknown.
public struct HealthTracker: Sendable, Equatable {
    public private(set) var unhealthyAfter: Int
    public private(set) var healthyAfter: Int
    public private(set) var state = NodeHealth.unknown
    public private(set) var consecutiveFailures = 0
    public private(set) var consecutiveSuccesses = 0

    public init(unhealthyAfter: Int, healthyAfter: Int) {
        self.unhealthyAfter = max(1, unhealthyAfter)
        self.healthyAfter = max(1, healthyAfter)
    }

    /// New thresholds from a reload; the current state and runs carry on.
    public mutating func update(unhealthyAfter: Int, healthyAfter: Int) {
        self.unhealthyAfter = max(1, unhealthyAfter)
        self.healthyAfter = max(1, healthyAfter)
    }

    /// Records one probe; returns the new state when it changed.
    public mutating func record(success: Bool) -> NodeHealth? {
        if success {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
            let needed = state == .unknown || state == .suspect ? 1 : healthyAfter
            if state != .healthy && consecutiveSuccesses >= needed { return transition(to: .healthy) }
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
            if state != .unhealthy && consecutiveFailures >= unhealthyAfter { return transition(to: .unhealthy) }
            if state == .healthy { return transition(to: .suspect) }
        }
        return nil
    }

    /// Whether the next probe should come at once rather than a whole interval later: the node
    /// failed a probe while in service, and a second decides whether it leaves.
    public var wantsAnotherProbeSoon: Bool { state == .suspect }

    private mutating func transition(to next: NodeHealth) -> NodeHealth {
        state = next
        return next
    }
}
