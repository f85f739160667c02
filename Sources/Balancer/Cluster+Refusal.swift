import Foundation

extension Cluster {
    /// The numbers a refusal was decided on (see `RefusalBasis`), read from the same snapshots.
    func refusalBasis(
        _ estimate: CostModel.Estimate, model: ModelName, snapshots: [NodeSnapshot], excluding: Set<Int>, queuedAhead: Int,
        predictedWait: Double, calibration: Double
    ) -> RefusalBasis {
        let tier = (try? AffinityPlacement.candidateTier(model, among: snapshots, excluding: excluding).get()) ?? []
        let start: RefusalBasis.Start
        switch estimate.claim {
        case .coldLoad(let seconds): start = .coldLoad(predictedLoadSeconds: seconds, unloading: estimate.evicting)
        case .joinLoad: start = .joiningLoad
        case .warmSlot, .any, .parallelProbe: start = .warmSlot
        }
        return RefusalBasis(
            queuedAhead: queuedAhead, warmSlots: AffinityPlacement.warmSlots(model, on: tier),
            copiesLoading: tier.filter { $0.isLoading(model) }.count, node: snapshots[estimate.nodeIndex].name, start: start,
            predictedWaitSeconds: predictedWait, calibration: calibration)
    }
}
