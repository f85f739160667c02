/// A node's health as the balancer acts on it. `unknown` until the first probe answers, so a
/// node that was never reached is not sent traffic on the strength of its config alone.
///
/// `suspect` sits between `healthy` and `unhealthy`, as in SWIM's membership states: one probe
/// failed, and the node is probed again at once rather than a whole interval later. A probe that
/// Ollama answers in milliseconds and that timed out is strong evidence, but one alone is not
/// proof, so a suspect node keeps its requests and its place in the plan; only new requests go
/// elsewhere while another node can take them. On the placement benchmark a node that hung took
/// 13 s of farm time to leave service, and the requests sent to it meanwhile waited for all of it.
public enum NodeHealth: String, Sendable, Equatable {
    case unknown
    case healthy
    case suspect
    case unhealthy

    /// Whether the node is still counted in the farm: healthy, or suspect until a second probe decides.
    public var isInService: Bool { self == .healthy || self == .suspect }
}
