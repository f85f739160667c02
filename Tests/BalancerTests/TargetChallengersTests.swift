import Testing

@testable import Balancer

/// The benchmark's small-first farm: sizes in tenths of a GB on nodes of 16 GB, 3 models each.
private let sizes = benchmarkModelSizes

/// A 75 % trace's rates once they settled (seed 11): the hot model wants a fourth copy.
private let settledRates: [String: Double] = [
    "llama3.2": 2.5, "phi3": 1.03, "gemma2:2b": 0.58, "mistral": 0.42, "llama3.1": 0.36, "qwen2.5": 0.3, "gemma2:9b": 0.26,
    "codellama": 0.2,
]

/// What the cold start left: `gemma2:2b` on two nodes and the hot model on three.
private let coldStartLayout = [
    ["gemma2:2b", "gemma2:9b", "phi3"], ["llama3.1", "llama3.2", "mistral"], ["gemma2:2b", "llama3.2", "phi3"],
    ["codellama", "llama3.2", "qwen2.5"],
]

private func demand(_ rates: [String: Double]) -> [ModelName: CapacityPlanner.Demand] {
    Dictionary(uniqueKeysWithValues: rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
}

private func farm(_ layout: [[String]]) -> [NodeSnapshot] {
    layout.enumerated().map { index, models in
        node(
            index, pulled: sizes, loaded: models, vramGB: 160, maxLoaded: 3, loadRate: 0.15,
            loadedAt: Dictionary(uniqueKeysWithValues: models.map { ($0, -1000) }))
    }
}

private func copies(_ target: [Int: Set<ModelName>], of model: String) -> Int {
    target.values.filter { $0.contains(ModelName(model)!) }.count
}

/// Planning rounds 2 s apart over a farm that does not change (no move carried out), each round
/// given the last one's target and challengers as the replicator gives them; the targets in order.
private func targets(_ layout: [[String]], rates: (Int) -> [String: Double], rounds: Int) -> [[Int: Set<ModelName>]] {
    let nodes = farm(layout)
    var previous: [NodeID: Set<ModelName>] = [:]
    var challengers = TargetChallengers()
    var targets: [[Int: Set<ModelName>]] = []
    for round in 0..<rounds {
        let plan = CapacityPlanner.planWithTarget(
            nodes: nodes, demand: demand(rates(round)), now: 1000 + 2 * Double(round), previousTarget: previous,
            challengers: challengers)
        previous = Dictionary(uniqueKeysWithValues: plan.target.map { (nodes[$0.key].id, $0.value) })
        challengers = plan.challengers
        targets.append(plan.target)
    }
    return targets
}

@Suite struct TargetChallengersTests {
    @Test func aCopyThatOutValuesAHeldOneRoundAfterRoundGetsInAfterTheDwell() {
        // Rounds 2 s apart: the fourth copy saves about 1.5 times what `gemma2:2b`'s second does, short
        // of the held copy's 2x advantage, so only the dwell (30 s) lets it in, in place of that copy.
        let rounds = targets(coldStartLayout, rates: { _ in settledRates }, rounds: 25)
        for (round, target) in rounds.enumerated() {
            let (hot, small) = (copies(target, of: "llama3.2"), copies(target, of: "gemma2:2b"))
            if round < 15 {
                #expect(hot == 3 && small == 2, "round \(round): the target holds on to what the farm has (\(target))")
            } else {
                #expect(hot == 4 && small == 1, "round \(round): the copy that saved more all along is in (\(target))")
            }
        }
    }

    @Test func aCopyThatOutValuesAHeldOneOnlyInSomeRoundsStaysOut() {
        // The hot model's rate swings round by round: its fourth copy out-values `gemma2:2b`'s second by
        // the margin in the high rounds, not on average.
        let rounds = targets(
            coldStartLayout,
            rates: { round in
                var rates = settledRates
                rates["llama3.2"] = round % 2 == 0 ? 2.5 : 1.9
                return rates
            }, rounds: 40)
        #expect(rounds.allSatisfy { copies($0, of: "llama3.2") == 3 && copies($0, of: "gemma2:2b") == 2 })
    }

    @Test func aCopyWithNoRoomTakesThePlaceOfAModelThatHasRoomWhereItIsAlsoHeld() {
        // gpu0 is the only node without the hot model, and it is full; `gemma2:2b` is also on gpu3,
        // where the hot model's fourth copy cannot go (it is there already) but `gemma2:2b` can stay.
        let layout = [
            ["gemma2:2b", "mistral", "phi3"], ["codellama", "llama3.2", "qwen2.5"], ["gemma2:9b", "llama3.1", "llama3.2"],
            ["gemma2:2b", "llama3.2", "phi3"],
        ]
        var rates = settledRates
        rates["llama3.2"] = 3.0
        let target = CapacityPlanner.targetLayout(nodes: farm(layout), demand: demand(rates), now: 1000)
        #expect(copies(target, of: "llama3.2") == 4, "\(target)")
        #expect(copies(target, of: "phi3") == 2, "the copy in place of the hot one's is not phi3:mini's second: \(target)")
        #expect(target[0]?.contains(ModelName("llama3.2")!) == true && target[3]?.contains(ModelName("gemma2:2b")!) == true, "\(target)")
        #expect(Set(target.values.flatMap { $0 }).count == 8, "every model keeps a copy: \(target)")
    }

    @Test func evidenceFromLongAgoFadesBeforeTheNewRoundsAreWeighed() {
        // A copy that saved twice the held one's worth for a minute before a popularity shift, and as
        // much as it since: two minutes later the old rounds count for little, where summed plainly
        // they would still clear the margin and count the copy as held.
        let margin = CapacityPlanner.Settings().challengerMargin
        var entry = TargetChallengers.Entry(copy: 2, since: 0, worth: 600, displacedWorth: 300, updated: 60)
        for second in stride(from: 62.0, through: 180, by: 2) { entry.add(worth: 10, displacing: 10, at: second, fading: 30) }
        #expect(entry.worth / entry.displacedWorth < 1.1, "\(entry)")
        var unfaded = TargetChallengers.Entry(copy: 2, since: 0, worth: 600, displacedWorth: 300, updated: 60)
        for second in stride(from: 62.0, through: 180, by: 2) { unfaded.add(worth: 10, displacing: 10, at: second, fading: .infinity) }
        #expect(unfaded.worth / unfaded.displacedWorth >= margin, "without fading the old rounds would still count: \(unfaded)")
    }

    @Test func aChallengerWithNoRoomLeavesTheHeldCopyItChallengedInTheTarget() {
        // The one node without the hot model holds three models of 4.1-5.4 GB, and the two nodes of
        // 8 GB beside it have no room for any of them, so the hot model's fourth copy finds no place
        // however the farm is packed. `gemma2:2b`'s second copy, the one it challenges, stays in the
        // target rather than leave its place empty.
        let layout = [
            ["gemma2:9b", "mistral", "qwen2.5"], ["gemma2:2b", "llama3.2", "phi3"], ["gemma2:2b", "llama3.2", "phi3"],
            ["codellama", "llama3.1", "llama3.2"],
        ]
        let nodes = layout.enumerated().map { index, models in
            node(
                index, pulled: sizes, loaded: models, vramGB: index == 1 || index == 2 ? 80 : 160, maxLoaded: 3, loadRate: 0.15,
                loadedAt: Dictionary(uniqueKeysWithValues: models.map { ($0, -1000) }))
        }
        var challengers = TargetChallengers()
        challengers.entries[ModelName("llama3.2")!] = TargetChallengers.Entry(
            copy: 4, since: 0, worth: 100, displacedWorth: 10, updated: 998)
        let plan = CapacityPlanner.planWithTarget(nodes: nodes, demand: demand(settledRates), now: 1000, challengers: challengers)
        #expect(copies(plan.target, of: "llama3.2") == 3, "\(plan.target)")
        #expect(copies(plan.target, of: "gemma2:2b") == 2, "\(plan.target)")
        #expect(plan.target.values.map(\.count).reduce(0, +) == 12, "no place left empty: \(plan.target)")
    }
}
