import OllamaSimulator

/// One node answering several times slower for a while (`--slow-node`), without failing a probe: a
/// GPU that throttles, or that another job shares. A balancer that only watches health keeps
/// sending it its share; one that learns each node's answer times moves work to the others.
struct NodeSlowdown: Sendable {
    var node: Int
    /// Simulated seconds from the start of the run.
    var start: Double
    var end: Double
    var factor: Double

    /// `N@START-ENDxFACTOR` (node index, simulated seconds, how many times slower), as `--slow-node` takes it.
    init?(_ text: String) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let node = Int(parts[0]), node >= 0 else { return nil }
        let window = parts[1].split(separator: "x")
        guard window.count == 2, let factor = Double(window[1]), factor >= 1 else { return nil }
        let times = window[0].split(separator: "-").compactMap { Double($0) }
        guard times.count == 2, times[0] >= 0, times[1] > times[0] else { return nil }
        self.node = node
        self.start = times[0]
        self.end = times[1]
        self.factor = factor
    }

    var description: String {
        "gpu\(node) answers \(factor)x slower from \(Int(start)) s to \(Int(end)) s (probes still pass, loads keep their speed)"
    }

    func stage(_ simulator: OllamaSimulator, from origin: ContinuousClock.Instant, timeScale: Double) async throws {
        try await Task.sleep(until: origin + .nanoseconds(Int64(start * timeScale * 1e9)), clock: .continuous)
        simulator.setSlowdown(factor)
        try await Task.sleep(until: origin + .nanoseconds(Int64(end * timeScale * 1e9)), clock: .continuous)
        simulator.setSlowdown(1)
    }
}
