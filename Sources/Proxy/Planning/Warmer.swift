import Balancer
import WireFormats

/// Keeps the models of the config's `warm` list loaded on as many nodes as it asks for, and
/// loads them again after an eviction.
struct Warmer: Sendable {
    let cluster: Cluster
    let preloader: Preloader
    let targets: [(model: ModelName, nodes: Int)]
    /// The config's `keepAlive`, or forever: a warm-list model is meant to stay.
    let keepAlive: JSONValue

    init(config: ClusterConfig, cluster: Cluster, preloader: Preloader) {
        self.cluster = cluster
        self.preloader = preloader
        self.keepAlive = config.keepAlive ?? -1
        self.targets = config.warm.compactMap { entry in ModelName(entry.key).map { ($0, entry.value) } }.sorted { $0.model < $1.model }
    }

    var isEmpty: Bool { targets.isEmpty }

    /// Starts the loads the warm list is missing; returns once they are started.
    func topUp() async {
        let snapshots = await cluster.snapshots()
        let now = cluster.now
        for (model, wanted) in targets {
            let resident = snapshots.filter { $0.health == .healthy && ($0.isLoaded(model) || $0.isLoading(model)) }.count
            guard resident < wanted else { continue }
            let candidates = snapshots.filter {
                $0.health == .healthy && $0.hasPulled(model) && !$0.isLoaded(model) && !$0.isLoading(model)
            }
            .map { (node: $0, estimate: cluster.costModel.estimate(model, on: $0, now: now, demand: { _ in 0 }, farmServiceSeconds: nil)) }
            .filter { $0.estimate.startsNow }
            .sorted { $0.estimate.seconds < $1.estimate.seconds }
            var started = 0
            for candidate in candidates where started < wanted - resident {
                if await preloader.start(model, on: candidate.node, keepAlive: keepAlive, reason: "warm list") { started += 1 }
            }
        }
    }
}
