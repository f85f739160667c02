import Balancer
import WireFormats

/// Reloads idle runners loaded for the automatic context length for the longer length most of
/// their model's requests are served by (`Cluster.runnersToLengthen`), after each probe round: the
/// Preloader unloads the runner, then loads the model again for that length.
struct RunnerLengthener: Sendable {
    let cluster: Cluster
    let preloader: Preloader
    let keepAlive: JSONValue?

    func topUp() async {
        for runner in await cluster.runnersToLengthen() {
            _ = await preloader.start(
                runner.model, on: runner.snapshot, evicting: [runner.model], keepAlive: keepAlive,
                reason: "its runner serves the automatic context length; most of its requests are served by \(runner.contextLength)")
        }
    }
}
