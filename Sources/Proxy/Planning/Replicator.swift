import Balancer
import WireFormats

/// Runs the capacity planner after each probe round and carries out its moves: unloads the idle
/// copies it chose and loads the copies demand calls for, so a busy model is warm on enough
/// nodes before its bursts have to queue.
struct Replicator: Sendable {
    let cluster: Cluster
    let preloader: Preloader
    /// The config's `keepAlive` (nil: the node's default), so an unused copy expires like any model.
    let keepAlive: JSONValue?

    func topUp() async {
        let snapshots = await cluster.placementSnapshots()
        let moves = CapacityPlanner.plan(
            nodes: snapshots, demand: cluster.demandSummary(snapshots), now: cluster.now, costModel: cluster.costModel,
            settings: cluster.plannerSettings)
        for move in moves {
            _ = await preloader.start(
                move.model, on: snapshots[move.nodeIndex], evicting: move.evicting, keepAlive: keepAlive,
                reason: "copies sized to demand")
        }
    }
}
