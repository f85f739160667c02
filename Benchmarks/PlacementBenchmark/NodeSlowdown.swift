import OllamaSimulator

/// One node answering several times slower for a while (`--slow-node`), without failing a probe: a
/// GPU that throttles, or that another job shares. A balancer that only watches health keeps
/// sending it its share; one that learns each node's answer times moves work to the others.
struct NodeSlowdown: Sendable {
    var window: NodeWindow
    var factor: Double
    var node: Int { window.node }
    var start: Double { window.start }
    var end: Double { window.end }

    /// `N@START-ENDxFACTOR` (node index, simulated seconds, how many times slower), as `--slow-node` takes it.
    init?(_ text: String) {
        let parts = text.split(separator: "x")
        guard parts.count == 2, let window = NodeWindow(parts[0]), let factor = Double(parts[1]), factor >= 1 else { return nil }
        self.window = window
        self.factor = factor
    }

    var description: String {
        "gpu\(node) answers \(factor)x slower from \(Int(start)) s to \(Int(end)) s (probes still pass, loads keep their speed)"
    }

    func stage(_ simulator: OllamaSimulator, from origin: ContinuousClock.Instant, timeScale: Double) async throws {
        try await Task.sleep(until: NodeWindow.instant(start, from: origin, timeScale: timeScale), clock: .continuous)
        simulator.setSlowdown(factor)
        try await Task.sleep(until: NodeWindow.instant(end, from: origin, timeScale: timeScale), clock: .continuous)
        simulator.setSlowdown(1)
    }
}
