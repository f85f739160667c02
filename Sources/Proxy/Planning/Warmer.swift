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

    /// Starts the loads the warm list is missing (`WarmListPlanner` chooses them); returns once they are started.
    func topUp() async {
        let snapshots = await cluster.snapshots()
        let loads = WarmListPlanner.loads(
            for: targets.map { (cluster.runnerModel($0.model), $0.nodes) }, nodes: snapshots, now: cluster.now, costModel: cluster.costModel
        )
        for load in loads {
            _ = await preloader.start(load.model, on: snapshots[load.nodeIndex], keepAlive: keepAlive, reason: "warm list")
        }
    }
}
