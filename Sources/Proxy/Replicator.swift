import Balancer

/// Runs the replica planner after each probe round and starts the copies it asks for, so a
/// model in demand is warm on more nodes before its bursts have to queue.
struct Replicator: Sendable {
    let cluster: Cluster
    let preloader: Preloader
    /// The config's `keepAlive` (nil: the node's default), so an unused copy expires like any model.
    let keepAlive: JSONValue?

    func topUp() async {
        let snapshots = await cluster.snapshots()
        let plans = ReplicaPlanner.plan(
            nodes: snapshots, now: cluster.now, costModel: cluster.costModel, demand: { cluster.demandRate($0) },
            queued: { cluster.queuedRequests($0) })
        for plan in plans {
            _ = await preloader.start(plan.model, on: snapshots[plan.nodeIndex], keepAlive: keepAlive, reason: "copy of a model in demand")
        }
    }
}
