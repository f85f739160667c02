import Foundation
import Testing

@testable import Balancer

/// The victim sets a planning round remembers (`CapacityPlanner.VictimMemo`) must be the ones it
/// would work out afresh after every move: a set kept past a move that changed it would price the
/// next move on a farm that no longer exists.
@Suite struct VictimMemoTests {
    /// 16 nodes of 16 GB holding up to three of 30 models, some loaded moments ago, some busy, with
    /// Zipf demand: a round of many moves, evictions among them.
    static func farm() -> (nodes: [NodeSnapshot], demand: [ModelName: CapacityPlanner.Demand]) {
        (randomFarm(nodeCount: 16, modelCount: 30, seed: 5, youngShare: 0.3, busyShare: 0.3), zipfDemand(modelCount: 30, topRate: 6))
    }

    static func layout(_ nodes: [NodeSnapshot], _ demand: [ModelName: CapacityPlanner.Demand]) -> CapacityPlanner.FarmLayout {
        var layout = CapacityPlanner.FarmLayout(nodes: nodes, demand: demand, now: 1000, costModel: CostModel(), settings: .init())
        layout.target = CapacityPlanner.TargetLayout(layout)
        return layout
    }

    /// What a victim set decides a move on, as text: equal texts, equal sets.
    static func describe(_ victims: CapacityPlanner.FarmLayout.Victims?) -> String {
        guard let victims else { return "does not fit" }
        return "\(victims.models) \(victims.cost) last \(victims.takesLastWantedCopy) young \(victims.takesYoungCopy) "
            + "back \(victims.comingBack.sorted()) lastCopies \(victims.lastCopies.sorted()) "
            + "\(victims.costs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
    }

    @Test func setsRememberedAcrossARoundsMovesAreTheOnesWorkedOutAfresh() async {
        let (nodes, demand) = Self.farm()
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.count >= 5)
        #expect(moves.contains { !$0.evicting.isEmpty })
        var remembering = Self.layout(nodes, demand)
        let target = remembering.target!
        let models = demand.keys.sorted()
        func everySet(_ layout: CapacityPlanner.FarmLayout) -> [String] {
            nodes.flatMap { node in
                models.flatMap { model in
                    [
                        Self.describe(layout.victims(for: model, on: node)),
                        Self.describe(layout.victims(for: model, on: node, keeping: target.models[node.index] ?? [])),
                    ]
                }
            }
        }
        _ = everySet(remembering)  // every set remembered before the first move
        var mismatches = 0
        for (done, move) in moves.enumerated() {
            // Seconds of CPU in a debug build: each move gives the cooperative pool back (`Task.yield`), or
            // the wire tests beside it (two pool threads on two cores) starve past their servers' timeouts.
            await Task.yield()
            remembering.apply(move)
            // The same farm after the same moves, with nothing remembered yet.
            var afresh = Self.layout(nodes, demand)
            for earlier in moves[...done] { afresh.apply(earlier) }
            let remembered = everySet(remembering)
            let worked = everySet(afresh)
            mismatches += zip(remembered, worked).filter { $0 != $1 }.count
        }
        #expect(mismatches == 0)
    }
}
