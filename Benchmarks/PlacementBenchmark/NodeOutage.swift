import OllamaSimulator
import Synchronization

/// One node of the farm going away in the middle of a run and coming back cold (`--outage`): the
/// most common event on a real farm, and the one that turns a busy farm into an overloaded one.
/// While the node is away the other three carry its load; when it returns it has nothing loaded,
/// as an Ollama that restarted has not, and the balancer must warm it again.
struct NodeOutage: Sendable {
    enum Kind: String, Sendable {
        /// The node's server stops: connections drop, new ones are refused (a crash or a reboot).
        case stop
        /// The node accepts connections and never answers, probes included (a wedged GPU driver).
        case hang
    }

    var window: NodeWindow
    var kind: Kind
    var node: Int { window.node }
    var start: Double { window.start }
    var end: Double { window.end }

    /// `N@START-END` (node index, simulated seconds), as `--outage` takes it.
    init?(_ text: String, kind: Kind) {
        guard let window = NodeWindow(text) else { return nil }
        self.window = window
        self.kind = kind
    }

    var description: String {
        "gpu\(node) \(kind == .stop ? "stops" : "hangs") from \(Int(start)) s to \(Int(end)) s and comes back with nothing loaded"
    }

    /// Takes the node down at `start` and brings a fresh one up on the same port at `end`; returns
    /// the fresh node (its loads count too) and how many loads it had made before requests came.
    /// A node of the all-warm bound comes back with every model loaded before it listens again.
    func stage(
        _ simulator: OllamaSimulator, configuration: SimulatorConfiguration, allWarm: Bool, from origin: ContinuousClock.Instant,
        timeScale: Double
    ) async throws -> (node: OllamaSimulator, baselineLoads: Int) {
        try await Task.sleep(until: NodeWindow.instant(start, from: origin, timeScale: timeScale), clock: .continuous)
        switch kind {
        case .stop: simulator.stop()
        case .hang: simulator.setFault(.hang)
        }
        try await Task.sleep(until: NodeWindow.instant(end, from: origin, timeScale: timeScale), clock: .continuous)
        simulator.stop()
        var fresh = configuration
        fresh.port = simulator.port
        let restarted = OllamaSimulator(fresh)
        if allWarm { for model in configuration.models { await restarted.preload(model.name) } }
        let baseline = await restarted.loadCount()
        // The port was just released; another process may take it in between, so try for a while.
        for attempt in 0..<50 {
            do {
                try restarted.start()
                break
            } catch {
                if attempt == 49 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return (restarted, baseline)
    }
}
