/// A node's health as the balancer acts on it. `unknown` until the first probe answers, so a
/// node that was never reached is not sent traffic on the strength of its config alone.
public enum NodeHealth: String, Sendable, Equatable {
    case unknown
    case healthy
    case unhealthy
}
