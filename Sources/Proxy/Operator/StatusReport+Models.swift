import Balancer
import Synchronization
import WireFormats

extension StatusReport {
    /// What the planner reads per model, beside where the model is warm: a model on fewer nodes than
    /// it wants is short of room, not overlooked. Only models some node has: a client naming a model
    /// nobody serves (a typo, a probe) is answered 404 and is no part of what the farm holds.
    /// `releasedOn` reads the copies the planner's last round gave up from `snapshots`
    /// (`Cluster.markingReleasedCopies`): a request's cold load unloads them before any other.
    /// A model that shares another's runner (`SharedRunners`) is counted in that model's entry.
    func models(_ snapshots: [NodeSnapshot], demand: [ModelName: CapacityPlanner.Demand], paces: NodePaces) -> [JSONValue] {
        // Where the planner is heading: a model warm on a node it is not planned on is on its way out.
        let (wanted, target, leftOut) = CapacityPlanner.sizing(
            nodes: snapshots, demand: demand, now: cluster.now, costModel: cluster.costModel, settings: cluster.plannerSettings,
            previousTarget: cluster.plannedTarget.withLock { $0 }, challengers: cluster.targetChallengers.withLock { $0 },
            paces: paces)
        let healthy = snapshots.filter { $0.health == .healthy }
        let served = demand.keys.filter { model in snapshots.contains { $0.hasPulled(model) } }
        let sharing = cluster.modelsSharingRunners()
        return served.sorted().map { model in
            let entry = demand[model]!
            return [
                "name": .string(model.canonical), "requestsPerSecond": .double((entry.rate * 1000).rounded() / 1000),
                "serviceSeconds": .double((entry.serviceSeconds * 10_000).rounded() / 10_000), "queued": .int(Int64(entry.queued)),
                "copiesWanted": .int(Int64(wanted[model] ?? 0)),
                // Copies worth loading that no node has a place for (its loaded-model cap or VRAM is full).
                "copiesWithoutRoom": .int(Int64(leftOut[model] ?? 0)),
                "warmOn": .array(healthy.filter { $0.isLoaded(model) }.map { .string($0.name) }),
                "loadingOn": .array(healthy.filter { $0.isLoading(model) }.map { .string($0.name) }),
                "plannedOn": .array(healthy.filter { target[$0.index]?.contains(model) ?? false }.map { .string($0.name) }),
                "releasedOn": .array(healthy.filter { $0.releasedByTarget.contains(model) }.map { .string($0.name) }),
                // Models made from this one (`ollama create`, `ollama cp`): Ollama serves them from its runner.
                "runnerAlsoServes": .array((sharing[model] ?? []).map { .string($0.canonical) }),
            ]
        }
    }
}
