import Foundation

/// Where nodes answer at different paces (`NodePaces`), the planner prices copies in typical copies:
/// a copy on a node at pace 4 serves a quarter of what one on a typical node does, so it saves a
/// quarter as much and costs a quarter as much to lose. On a farm of like nodes none of this is
/// reached (`effectiveCopies` is the count, and every scale is 1).
extension CapacityPlanner.FarmLayout {
    /// `cost(_:copies:)` for copies worth `typical` typical ones: between whole numbers in
    /// proportion, and below one, a single copy whose answers take 1/`typical` as long. With
    /// `cautious`, at the demand's cautious rate (`cautiousGain`).
    func cost(_ model: ModelName, typical: Double, cautious: Bool = false) -> Double {
        func whole(_ count: Int) -> Double { cautious ? cautiousCost(model, copies: count) : cost(model, copies: count) }
        guard typical > 1e-9 else { return whole(0) }
        guard typical >= 1 else {
            guard var slowed = demand[model] else { return 0 }
            if cautious, let calmer = slowed.cautiousRate, calmer < slowed.rate { slowed.rate = calmer }
            slowed.serviceSeconds /= typical
            return CapacityPlanner.waitingCost(
                copies: 1, slotsPerCopy: slots(model), demand: slowed, loadSeconds: loadSeconds(model), settings: settings)
        }
        let count = Int(typical)
        let part = typical - Double(count)
        return whole(count) * (1 - part) + (part > 0 ? whole(count + 1) * part : 0)
    }

    /// `cautiousGain` from the copies the moves so far leave `model`, counted in typical copies
    /// where nodes differ in pace.
    func cautiousNextCopyGain(_ model: ModelName) -> Double {
        guard !paces.isUniform else { return cautiousGain(model, copies: copies[model] ?? 0) }
        let have = effectiveCopies(model)
        return cost(model, typical: have, cautious: true) - cost(model, typical: have + 1, cautious: true)
    }

    /// Waiting a copy of `model` on this node saves, against one on a typical node
    /// (`nextCopyGain`): a copy on a slow node serves less, and saves less.
    func copyGainScale(_ model: ModelName, onNode index: Int) -> Double {
        guard !paces.isUniform else { return 1 }
        let have = effectiveCopies(model)
        let now = cost(model, typical: have)
        let typicalGain = now - cost(model, typical: have + 1)
        guard typicalGain > 0 else { return 1 / paces.pace(ofNode: index) }
        return (now - cost(model, typical: have + 1 / paces.pace(ofNode: index))) / typicalGain
    }
}
