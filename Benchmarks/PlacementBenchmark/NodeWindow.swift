/// A node and a stretch of simulated time, `N@START-END` on the command line: where and when
/// `--outage` and `--slow-node` act.
struct NodeWindow: Sendable {
    var node: Int
    /// Simulated seconds from the start of the run.
    var start: Double
    var end: Double

    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let node = Int(parts[0]), node >= 0 else { return nil }
        let times = parts[1].split(separator: "-").compactMap { Double($0) }
        guard times.count == 2, times[0] >= 0, times[1] > times[0] else { return nil }
        self.node = node
        self.start = times[0]
        self.end = times[1]
    }

    /// `origin` plus `seconds` of simulated time at `timeScale`.
    static func instant(_ seconds: Double, from origin: ContinuousClock.Instant, timeScale: Double) -> ContinuousClock.Instant {
        origin + .nanoseconds(Int64(seconds * timeScale * 1e9))
    }
}
