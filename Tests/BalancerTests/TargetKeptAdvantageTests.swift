import Testing

@testable import Balancer

/// Two nodes with room for two models each and one place free: the next copy of either of two hot
/// models could take it. Which one the target picks must not swap round by round on a small change
/// in the rates, or the planner loads one and unloads it for the other a few seconds later.
private let sizes: [String: Int64] = ["llama3.2": 20, "phi3": 22, "gemma2:2b": 26]
private let llama = ModelName("llama3.2")!
private let phi = ModelName("phi3")!

private func farm() -> [NodeSnapshot] {
    [
        node(
            0, pulled: sizes, loaded: ["llama3.2", "phi3"], vramGB: 160, maxLoaded: 2, loadRate: 0.15,
            loadedAt: ["llama3.2": -1000, "phi3": -1000]),
        node(1, pulled: sizes, loaded: ["gemma2:2b"], vramGB: 160, maxLoaded: 2, loadRate: 0.15, loadedAt: ["gemma2:2b": -1000]),
    ]
}

private func demand(llama: Double, phi: Double) -> [ModelName: CapacityPlanner.Demand] {
    [
        ModelName("llama3.2")!: CapacityPlanner.Demand(rate: llama, serviceSeconds: 1.3),
        ModelName("phi3")!: CapacityPlanner.Demand(rate: phi, serviceSeconds: 1.3),
        ModelName("gemma2:2b")!: CapacityPlanner.Demand(rate: 0.05, serviceSeconds: 1.3),
    ]
}

@Suite struct TargetKeptAdvantageTests {
    private func secondCopy(llama llamaRate: Double, phi phiRate: Double, lastTarget: [NodeID: Set<ModelName>]) -> ModelName? {
        let nodes = farm()
        let target = CapacityPlanner.targetLayout(
            nodes: nodes, demand: demand(llama: llamaRate, phi: phiRate), now: 1000, previousTarget: lastTarget)
        return target[1]?.first { $0 == llama || $0 == phi }
    }

    @Test func withNoTargetBeforeTheHotterModelGetsThePlace() {
        #expect(secondCopy(llama: 1.25, phi: 1.2, lastTarget: [:]) == llama)
        #expect(secondCopy(llama: 1.2, phi: 1.25, lastTarget: [:]) == phi)
    }

    @Test func aCopyTheLastTargetKeptStaysOnANearTie() {
        let nodes = farm()
        let keptPhi: [NodeID: Set<ModelName>] = [nodes[0].id: [llama, phi], nodes[1].id: [ModelName("gemma2:2b")!, phi]]
        #expect(secondCopy(llama: 1.25, phi: 1.2, lastTarget: keptPhi) == phi)
        let keptLlama: [NodeID: Set<ModelName>] = [nodes[0].id: [llama, phi], nodes[1].id: [ModelName("gemma2:2b")!, llama]]
        #expect(secondCopy(llama: 1.2, phi: 1.25, lastTarget: keptLlama) == llama)
    }

    @Test func aClearlyHotterModelStillTakesThePlaceFromTheLastTarget() {
        let nodes = farm()
        let keptPhi: [NodeID: Set<ModelName>] = [nodes[0].id: [llama, phi], nodes[1].id: [ModelName("gemma2:2b")!, phi]]
        #expect(secondCopy(llama: 1.7, phi: 1.0, lastTarget: keptPhi) == llama)
    }
}
