import Testing

@testable import Balancer

/// On a farm whose slots are mostly busy, a move off the target does not take a model's last copy
/// for another model's extra one: the victim's slots were busy too.
@Suite struct BusyFarmLastCopyTests {
    let hot = ModelName("hot")!
    let steady = ModelName("steady")!

    /// Two nodes that hold one model each: `hot` (1/s of 3 s answers, 3 offered on its 2 slots) and
    /// `steady`, asked for at `steadyRate`.
    func plan(steadyRate: Double, settings: CapacityPlanner.Settings = .init()) -> [CapacityPlanner.Move] {
        let sizes: [String: Int64] = ["hot": 4, "steady": 4]
        let nodes = [
            node(0, pulled: sizes, loaded: ["hot"], inFlight: ["hot": 2], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
            node(1, pulled: sizes, loaded: ["steady"], inFlight: ["steady": 1], vramGB: 16, maxLoaded: 1, loadRate: 0.5),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            hot: .init(rate: 1, serviceSeconds: 3), steady: .init(rate: steadyRate, serviceSeconds: 3),
        ]
        return CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000, settings: settings)
    }

    @Test func aBusyModelKeepsItsOnlyCopyWhenEverySlotIsInUse() {
        // 3 + 1.5 offered on the farm's 4 slots: the hot model's second copy would take all of steady's.
        #expect(!plan(steadyRate: 0.5).contains { $0.evicting.contains(steady) })
        // Priced alone, the hot model's saturation outweighs five times steady's cost, and the move is made.
        var pricedOnly = CapacityPlanner.Settings()
        pricedOnly.busyFarmShareOfSlots = .infinity
        #expect(
            plan(steadyRate: 0.5, settings: pricedOnly) == [.init(model: hot, nodeIndex: 1, evicting: [steady], predictedLoadSeconds: 3)])
    }

    @Test func aRareModelStillMakesWayWhereSlotsAreIdle() {
        // 3 + 0.06 offered on 4 slots: steady's slots mostly idle, and the hot model takes its place.
        #expect(plan(steadyRate: 0.02) == [.init(model: hot, nodeIndex: 1, evicting: [steady], predictedLoadSeconds: 3)])
    }

    @Test func slotsAreMostlyBusyFromEightyPercentOfTheSlotsOfEveryCopyLoadedOrLoading() {
        let sizes: [String: Int64] = ["hot": 4, "steady": 4]
        let loading = LoadInProgress(startedAt: 0, predictedSeconds: 3)
        let nodes = [
            node(0, pulled: sizes, loaded: ["hot"], vramGB: 16),
            node(1, pulled: sizes, loading: ["steady": loading], vramGB: 16),
            node(2, health: .unhealthy, pulled: sizes, loaded: ["hot", "steady"], vramGB: 16),
        ]
        // Two copies of 2 slots on the healthy nodes: busy from 3.2 offered.
        func busy(_ offered: Double) -> Bool {
            CapacityPlanner.slotsMostlyBusy(nodes: nodes, demand: [hot: .init(rate: offered / 2, serviceSeconds: 2)])
        }
        #expect(busy(3.2))
        #expect(!busy(3.1))
        #expect(!CapacityPlanner.slotsMostlyBusy(nodes: [], demand: [hot: .init(rate: 1, serviceSeconds: 3)]))
    }
}
