import Balancer
import Synchronization
import WireFormats

/// Runs the capacity planner after each probe round and carries out its moves: unloads the idle
/// copies it chose and loads the copies demand calls for, so a busy model is warm on enough
/// nodes before its bursts have to queue.
struct Replicator: Sendable {
    let cluster: Cluster
    let preloader: Preloader
    /// The config's `keepAlive` (nil: the node's default), so an unused copy expires like any model.
    let keepAlive: JSONValue?

    /// - Parameter leaving: a node whose probes are taking it out of service: the plan counts it out
    ///   already (see `HealthMonitor.setBeforeLeavingService`).
    func topUp(leaving: NodeID? = nil) async {
        if let leaving { preloader.logger.debug("planner plans without node \(leaving.name), which leaves service") }
        let snapshots = await cluster.placementSnapshots(leaving: leaving)
        // One fit of the nodes' paces serves the demand's typical service times and the plan.
        let paces = NodePaces(snapshots)
        let demand = cluster.demandSummary(snapshots, paces: paces)
        let busy = CapacityPlanner.slotsMostlyBusy(nodes: snapshots, demand: demand, settings: cluster.plannerSettings)
        preloader.logger.debug("planner sees \(Self.describe(demand, snapshots))\(busy ? "; slots mostly busy" : "")")
        let (moves, target, challengers, heldBack, made, leftOut) = CapacityPlanner.planWithTarget(
            nodes: snapshots, demand: demand, now: cluster.now, costModel: cluster.costModel, settings: cluster.plannerSettings,
            previousTarget: cluster.plannedTarget.withLock { $0 }, challengers: cluster.targetChallengers.withLock { $0 },
            paces: paces, explaining: preloader.logger.minimum <= .debug)
        let released = CapacityPlanner.copiesReleased(by: target, from: snapshots)
        cluster.plannedTarget.withLock { $0 = Self.byNodeID(target, snapshots) }
        cluster.releasedCopies.withLock { $0 = Self.byNodeID(released, snapshots) }
        cluster.targetChallengers.withLock { $0 = challengers }
        preloader.logger.debug("planner heads for \(Self.describe(target, snapshots))")
        if leaving == nil, cluster.roomShortfall.withLock({ $0.isDue(leftOut: leftOut, now: cluster.now) }) {
            preloader.logger.warning(RoomShortfall.describe(leftOut: leftOut, target: target, nodes: snapshots))
        }
        if !challengers.copies.isEmpty {
            let described = challengers.copies.sorted { $0.key < $1.key }.map { "\($0.key) copy \($0.value)" }
            preloader.logger.debug("planner's challengers: \(described.joined(separator: ", "))")
        }
        if !made.isEmpty { preloader.logger.debug("planner makes \(made.joined(separator: "; "))") }
        if !heldBack.isEmpty { preloader.logger.debug("planner holds back \(heldBack.joined(separator: "; "))") }
        if !released.isEmpty { preloader.logger.debug("planner releases \(Self.describe(released, snapshots))") }
        let (wanted, overtaken) = CapacityPlanner.movesStillWanted(
            moves, plannedFrom: snapshots, now: await cluster.placementSnapshots(leaving: leaving))
        if !overtaken.isEmpty {
            preloader.logger.debug(
                "planner drops its moves for \(overtaken.sorted().map(\.description).joined(separator: ", ")): a request started a copy while it planned"
            )
        }
        for move in wanted {
            _ = await preloader.start(
                move.model, on: snapshots[move.nodeIndex], evicting: move.evicting, comingBack: move.comingBack, keepAlive: keepAlive,
                reason: "copies sized to demand")
        }
    }

    /// A layout the planner gives by node index, kept by node identity: a reload may renumber the nodes.
    static func byNodeID(_ layout: [Int: Set<ModelName>], _ snapshots: [NodeSnapshot]) -> [NodeID: Set<ModelName>] {
        Dictionary(uniqueKeysWithValues: layout.map { (snapshots[$0.key].id, $0.value) })
    }

    /// The target layout, node by node, for `--log-level debug`.
    static func describe(_ target: [Int: Set<ModelName>], _ snapshots: [NodeSnapshot]) -> String {
        snapshots.filter { target[$0.index] != nil }.map { node in
            "\(node.name) [\(target[node.index]!.sorted().map(\.description).joined(separator: ","))]"
        }.joined(separator: "; ")
    }

    /// One line per round for `--log-level debug`: what each model is asked for, and where it is warm.
    static func describe(_ demand: [ModelName: CapacityPlanner.Demand], _ snapshots: [NodeSnapshot]) -> String {
        demand.keys.sorted().map { model in
            let entry = demand[model]!
            let holders = snapshots.filter { $0.health == .healthy && ($0.isLoaded(model) || $0.isLoading(model)) }.map(\.name)
            let rate = (entry.rate * 1000).rounded() / 1000
            let service = (entry.serviceSeconds * 10).rounded() / 10
            return "\(model) \(rate)/s \(service)s queued \(entry.queued) on [\(holders.joined(separator: ","))]"
        }.joined(separator: "; ")
    }
}
