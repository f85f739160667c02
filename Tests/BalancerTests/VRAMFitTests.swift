import Testing

@testable import Balancer

/// Ollama loads beside other models only into 80 % of the VRAM left free; a total a node was seen
/// holding already passed that test.
@Suite struct VRAMFitTests {
    func name(_ text: String) -> ModelName { ModelName(text)! }

    @Test func theGPUsOwnMemoryTakesALoadBesideOthersOnlyInAShareOfWhatIsFree() {
        let gpu = VRAMFit(bytes: 16 * gigabyte, isPhysical: true)
        #expect(gpu.admits(7 * gigabyte, beside: 0))
        #expect(gpu.admits(16 * gigabyte, beside: 0))
        #expect(gpu.admits(6 * gigabyte, beside: 8 * gigabyte))  // 6 ≤ 0.8 × 8
        #expect(!gpu.admits(7 * gigabyte, beside: 8 * gigabyte))  // the sum, 15 GB, would fit
        let seenHeld = VRAMFit(bytes: 16 * gigabyte, isPhysical: false)
        #expect(seenHeld.admits(7 * gigabyte, beside: 8 * gigabyte))
        #expect(!seenHeld.admits(9 * gigabyte, beside: 8 * gigabyte))
    }

    @Test func aConfiguredVRAMIsTheGPUsAndATotalThatDidNotFitIsASum() {
        var config = ClusterConfig.NodeConfig(name: "n", url: NodeURL("http://n:1")!)
        var limits = ObservedLimits()
        #expect(limits.vramFit(configured: config) == nil)
        config.vramGB = 16
        #expect(limits.vramFit(configured: config) == VRAMFit(bytes: 16 * gigabyte, isPhysical: true))
        limits.overflowBytes = 14 * gigabyte
        #expect(limits.vramFit(configured: config) == VRAMFit(bytes: Int64(13.3e9), isPhysical: false))
        limits.overflowBytes = 18 * gigabyte  // 95 % of it is more than the GPU has: the GPU's memory stands
        #expect(limits.vramFit(configured: config) == VRAMFit(bytes: 16 * gigabyte, isPhysical: true))
    }

    @Test func thePlannerMakesRoomByOllamasRuleNotByTheSum() {
        let pulled: [String: Int64] = ["small": 2, "middle": 6, "big": 7]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            name("big"): .init(rate: 2, serviceSeconds: 3), name("small"): .init(rate: 0.001, serviceSeconds: 3),
            name("middle"): .init(rate: 0.5, serviceSeconds: 3),
        ]
        // 16 GB holding 8: by the sum 7 GB more fit; by Ollama's rule only 6.4 do, so a model must go first.
        let nodes = [
            node(0, pulled: pulled, loaded: ["small", "middle"], vramGB: 16),
            node(1, pulled: pulled, loaded: ["big"], vramGB: 16, maxLoaded: 1),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.map(\.model) == [name("big")])
        #expect(moves.map(\.evicting) == [[name("small")]])
        // The node's own claim check and placement's victims agree.
        let victims = CostModel().cheapestVictims(for: name("big"), on: nodes[0], now: 1000) { demand[$0]?.rate ?? 0 }
        #expect(victims == [name("small")])
    }
}
