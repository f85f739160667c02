import Foundation
import Testing

@testable import Balancer

/// Rounds of the planner on random farms, each round's moves carried out before the next, with the
/// popularity turned over halfway and now and then a node down or still loading: whatever the plan
/// weighs, what it asks of the farm must be something Ollama can do.
@Suite struct PlannerRoundTests {
    struct Farm {
        var sizes: [String: Int64]
        var loaded: [[String]]
        var loadedAt: [[String: Double]]
        var inFlight: [[String: Int]]
        var loading: [[String: LoadInProgress]]
        var down: Set<Int> = []

        func snapshots() -> [NodeSnapshot] {
            loaded.indices.map { index in
                node(
                    index, health: down.contains(index) ? .unhealthy : .healthy, pulled: sizes, loaded: loaded[index],
                    loading: loading[index], inFlight: inFlight[index], vramGB: 160, maxLoaded: 3, loadRate: 0.15,
                    loadedAt: loadedAt[index])
            }
        }
    }

    func farm(nodeCount: Int, modelCount: Int, seed: UInt64) -> Farm {
        let base = randomFarm(nodeCount: nodeCount, modelCount: modelCount, seed: seed, youngShare: 0.3, busyShare: 0.3)
        return Farm(
            sizes: Dictionary(uniqueKeysWithValues: base[0].pulled.map { ($0.key.description, $0.value.sizeBytes / gigabyte) }),
            loaded: base.map { $0.loaded.keys.map(\.description) },
            loadedAt: base.map { node in Dictionary(uniqueKeysWithValues: node.loadedAt.map { ($0.key.description, $0.value) }) },
            inFlight: base.map { node in Dictionary(uniqueKeysWithValues: node.inFlight.map { ($0.key.description, $0.value) }) },
            loading: Array(repeating: [:], count: nodeCount))
    }

    @Test(arguments: [(4, 8), (6, 9), (12, 24), (16, 20)])
    func everyMoveFitsAFreeNodeAndEveryTargetFitsItsNode(nodeCount: Int, modelCount: Int) async {
        for seed in UInt64(1)...4 {
            var random = FastRandom(seed: seed &* 977 &+ UInt64(nodeCount))
            func unit() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
            var farm = farm(nodeCount: nodeCount, modelCount: modelCount, seed: seed)
            var previous: [NodeID: Set<ModelName>] = [:]
            var now = 1000.0
            var moved = 0
            for round in 0..<6 {
                // Seconds of CPU in a debug build: each round gives the cooperative pool back (`Task.yield`), or
                // the wire tests beside it (two pool threads on two cores) starve past their servers' timeouts.
                await Task.yield()
                farm.down = unit() < 0.3 ? [Int(unit() * Double(nodeCount))] : []
                let nodes = farm.snapshots()
                var demand: [ModelName: CapacityPlanner.Demand] = [:]
                for rank in 0..<modelCount {
                    let place = round >= 3 ? modelCount - 1 - rank : rank
                    var wanted = CapacityPlanner.Demand(rate: Double(nodeCount) / pow(Double(place + 1), 1.1), serviceSeconds: 1.3)
                    if unit() < 0.1 { wanted.queued = Int(unit() * 6) }
                    if unit() < 0.2 { wanted.cautiousRate = wanted.rate * 0.6 }
                    demand[ModelName("model\(rank)")!] = wanted
                }
                let plan = CapacityPlanner.planWithTarget(nodes: nodes, demand: demand, now: now, previousTarget: previous)
                let again = CapacityPlanner.planWithTarget(nodes: nodes, demand: demand, now: now, previousTarget: previous)
                let context = "seed \(seed) round \(round)"
                #expect(plan.moves == again.moves && plan.target == again.target, "the plan is a function of its inputs: \(context)")
                #expect(Set(plan.moves.map(\.nodeIndex)).count == plan.moves.count, "one load per node: \(context)")
                for move in plan.moves {
                    let before = nodes[move.nodeIndex]
                    #expect(before.health == .healthy && before.loading.isEmpty, "a free healthy node: \(context)")
                    #expect(before.pulled[move.model] != nil && before.loaded[move.model] == nil, "pulled and not loaded: \(context)")
                    #expect(move.evicting.allSatisfy { before.loaded[$0] != nil } && !move.evicting.contains(move.model), "\(context)")
                    let after = Set(before.loaded.keys).subtracting(move.evicting).union([move.model])
                    #expect(after.count <= 3, "the loaded-model cap: \(context)")
                    #expect(after.reduce(Int64(0)) { $0 + before.pulled[$1]!.sizeBytes } <= 160 * gigabyte, "VRAM: \(context)")
                }
                for (index, models) in plan.target {
                    #expect(models.count <= 3 && !farm.down.contains(index), "the target's node: \(context)")
                    #expect(models.allSatisfy { nodes[index].pulled[$0] != nil }, "the target's models are pulled there: \(context)")
                    #expect(models.reduce(Int64(0)) { $0 + nodes[index].pulled[$1]!.sizeBytes } <= 160 * gigabyte, "\(context)")
                }
                previous = Dictionary(uniqueKeysWithValues: plan.target.map { (nodes[$0.key].id, $0.value) })
                // Last round's slow loads finish; half of this round's are still loading at the next.
                for index in 0..<nodeCount {
                    farm.loaded[index] += farm.loading[index].keys
                    farm.loading[index] = [:]
                }
                for move in plan.moves {
                    let index = move.nodeIndex
                    let gone = Set(move.evicting.map(\.description))
                    farm.loaded[index].removeAll { gone.contains($0) }
                    for model in gone { farm.inFlight[index][model] = nil }
                    farm.loadedAt[index][move.model.description] = now
                    if unit() < 0.5 {
                        farm.loading[index][move.model.description] = LoadInProgress(startedAt: now, predictedSeconds: 30)
                    } else {
                        farm.loaded[index].append(move.model.description)
                    }
                }
                moved += plan.moves.count
                now += 20
            }
            #expect(moved > 0, "the rounds moved something (seed \(seed))")
        }
    }
}
