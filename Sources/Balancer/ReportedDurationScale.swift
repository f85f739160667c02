/// How many seconds of TensorWall's clock one second of a node's reported durations takes.
///
/// TensorWall reads Ollama's `load_duration` to learn how fast a node loads, what `total_duration` leaves
/// after the others to see Ollama's own queue, and `total_duration` itself to know when the node's slot
/// came free. All of that assumes the node reports the seconds that pass here. Ollama does, but a
/// simulator run slower than real time may report the time it simulates: then every load looks five
/// times faster than it is, and every request seems to have left its slot long before its last byte
/// came, so a probe for a parallel slot never proves one. The node's own answers show the scale:
/// from sending a request to its last byte, TensorWall sees about the node's `total_duration`, a
/// little more for the network. The median of recent ratios, applied only when it is clearly not 1,
/// puts the node's durations on TensorWall's clock; on a real Ollama it stays 1.
public struct ReportedDurationScale: Sendable, Equatable {
    /// Ratios a scale needs before it is used, and how many are kept.
    public static let samplesNeeded = 5
    static let samplesKept = 15
    /// Medians within this range are the network's share of a request, not another clock.
    static let sameClock = (1 / 1.5)...1.5
    /// How far apart the middle half of the ratios may lie for them to show a clock: a node on a
    /// slower clock is slower by the same factor on every answer.
    static let steadySpread = 2.0
    /// Requests shorter than this (TensorWall's seconds) are mostly network and say nothing.
    static let shortestObservedSeconds = 0.02
    /// Nor do answers the node reports as shorter than this: on a busy machine the tens of milliseconds
    /// a request spends in queues for the CPU, here and in the node's HTTP layer, are many times a
    /// sub-millisecond `total_duration`, and such ratios read a fast node as a slow clock. (A real
    /// Ollama answer takes longer: one token from a warm model is tens of milliseconds.)
    static let shortestReportedSeconds = 0.01

    private var ratios: [Double] = []
    /// What to multiply the node's reported durations by: 1 until enough ratios show another clock.
    /// Worked out once per answer learned from, not at each of the several reads a release makes.
    public private(set) var factor = 1.0

    public init() {}

    /// A request whose last byte came `observedSeconds` after it was sent, for which the node reported
    /// a `total_duration` of `reportedSeconds`.
    public mutating func learn(observedSeconds: Double, reportedSeconds: Double) {
        guard observedSeconds >= Self.shortestObservedSeconds, reportedSeconds >= Self.shortestReportedSeconds,
            observedSeconds.isFinite, reportedSeconds.isFinite
        else { return }
        ratios.append(observedSeconds / reportedSeconds)
        if ratios.count > Self.samplesKept { ratios.removeFirst() }
        guard isKnown else { return }
        let sorted = ratios.sorted()
        let median = sorted[sorted.count / 2]
        // Another clock gives steady ratios; scattered ones are queues for the CPU, not a clock.
        let steady = sorted[sorted.count * 3 / 4] <= Self.steadySpread * sorted[sorted.count / 4]
        factor = Self.sameClock.contains(median) || !steady ? 1 : median
    }

    /// Whether enough answers were seen to tell the node's clock.
    public var isKnown: Bool { ratios.count >= Self.samplesNeeded }

    /// The factor for one answer that took `observed` seconds here and was reported as `reported`: the
    /// node's once it is known; before, this answer's own ratio where that is clearly not 1.
    public func factor(forAnswerObserved observed: Double?, reported: Double?) -> Double {
        guard !isKnown, let observed, let reported, observed >= Self.shortestObservedSeconds,
            reported >= Self.shortestReportedSeconds
        else { return factor }
        let ratio = observed / reported
        return Self.sameClock.contains(ratio) || !ratio.isFinite ? 1 : ratio
    }
}
