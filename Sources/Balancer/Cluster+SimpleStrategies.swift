import Synchronization

/// Placement by the strategies blind to warm copies (`round_robin`, `weighted`, `least_busy`): a node is
/// picked by `SimpleStrategy` and the request takes any slot there, warm or cold.
extension Cluster {
    /// Up to four tries: another request may take the chosen slot between the pick and the claim.
    func acquireSimple(_ request: Request, strategy: ClusterConfig.Strategy) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        for _ in 0..<4 {
            let members = current
            let nodes = members.nodes
            let snapshots = await placementSnapshots(of: nodes)
            let rotation = rotations.withLock { rotations -> Int in
                defer { rotations[model, default: 0] &+= 1 }
                return rotations[model, default: 0]
            }
            let choice = random.withLock { generator -> Result<Int, PlacementFailure> in
                var local = generator
                defer { generator = local }
                return SimpleStrategy.choose(
                    strategy, model, among: snapshots, excluding: members.indices(of: request.excluding), rotation: rotation, using: &local)
            }
            switch choice {
            case .failure(let failure): return .failure(failure)
            case .success(let index):
                let load = costModel.predictedLoadSeconds(model, on: snapshots[index])
                if await nodes[index].tryAcquire(model, claim: .any(predictedLoadSeconds: load), now: clock()) {
                    let predicted = snapshots[index].loaded[model] == nil ? load : 0
                    return .success(
                        Lease(
                            cluster: self, node: nodes[index], nodeConfig: snapshots[index].config, model: model,
                            claim: .any(predictedLoadSeconds: load), startedAt: clock(), expectedStartSeconds: predicted,
                            expectedServiceSeconds: snapshots[index].serviceSeconds[model]))
                }
            }
        }
        return .failure(.noHealthyNode)
    }
}
