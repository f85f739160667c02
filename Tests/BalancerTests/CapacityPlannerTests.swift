import Foundation
import Testing

@testable import Balancer

@Suite struct ErlangCTests {
    /// The worked example in placement-math.md: S = 1.7 s, λ = 0.8/s, a = 1.36.
    @Test func matchesTheWorkedExample() {
        let twoServers = ErlangC.probabilityOfWaiting(servers: 2, offered: 1.36)
        #expect(abs(twoServers - 0.55) < 0.01, "\(twoServers)")
        #expect(abs(ErlangC.meanWait(servers: 2, offered: 1.36, service: 1.7) - 1.45) < 0.02)
        #expect(abs(ErlangC.probabilityOfWaiting(servers: 4, offered: 1.36) - 0.055) < 0.005)
        #expect(abs(ErlangC.meanWait(servers: 4, offered: 1.36, service: 1.7) - 0.035) < 0.005)
    }

    @Test func anUnstableQueueAlwaysWaits() {
        #expect(ErlangC.probabilityOfWaiting(servers: 2, offered: 2.5) == 1)
        #expect(ErlangC.meanWait(servers: 2, offered: 2, service: 1) == .infinity)
        #expect(ErlangC.probabilityOfWaiting(servers: 4, offered: 0) == 0)
    }

    @Test func serversNeededIsTheSmallestThatMeetsTheTail() {
        let servers = ErlangC.serversNeeded(offered: 1.36, service: 1.7, waitAtMost: 1, probability: 0.05)
        #expect(ErlangC.probabilityOfWaitingLonger(than: 1, servers: servers, offered: 1.36, service: 1.7) <= 0.05)
        #expect(ErlangC.probabilityOfWaitingLonger(than: 1, servers: servers - 1, offered: 1.36, service: 1.7) > 0.05)
    }
}

@Suite struct CapacityPlannerTests {
    let hot = ModelName("llama3.2")!
    let rare = ModelName("phi3")!
    let other = ModelName("mistral")!
    let pulled: [String: Int64] = ["llama3.2": 2, "phi3": 2, "mistral": 4]

    func demand(hot rate: Double, rare rareRate: Double = 0.01, other otherRate: Double = 0.01, service: Double = 3) -> [ModelName:
        CapacityPlanner.Demand]
    {
        [
            hot: .init(rate: rate, serviceSeconds: service), rare: .init(rate: rareRate, serviceSeconds: service),
            other: .init(rate: otherRate, serviceSeconds: service),
        ]
    }

    @Test func copiesFollowOfferedLoad() {
        let light = CapacityPlanner.wantedCopies(hot, .init(rate: 0.1, serviceSeconds: 3), holders: 4, slotsPerCopy: 2)
        let busy = CapacityPlanner.wantedCopies(hot, .init(rate: 1.5, serviceSeconds: 3), holders: 4, slotsPerCopy: 2)
        #expect(light == 1)
        #expect(busy >= 3)
        // One per holder at most.
        #expect(CapacityPlanner.wantedCopies(hot, .init(rate: 50, serviceSeconds: 3), holders: 4, slotsPerCopy: 2) == 4)
        #expect(CapacityPlanner.wantedCopies(hot, .init(rate: 0.001, serviceSeconds: 3), holders: 4, slotsPerCopy: 2) == 0)
    }

    @Test func theWaitTargetScalesWithTheServiceTime() {
        // A node answering in 1.3 s: a wait of 1 s would nearly double a 0.26 s first token, so a
        // model asked for 1.34/s needs three copies, not the two a fixed 1 s target gives it.
        let fast = CapacityPlanner.Demand(rate: 1.34, serviceSeconds: 1.3)
        #expect(CapacityPlanner.wantedCopies(hot, fast, holders: 4, slotsPerCopy: 2) == 3)
        var fixed = CapacityPlanner.Settings()
        fixed.waitTargetShareOfService = .infinity
        #expect(CapacityPlanner.wantedCopies(hot, fast, holders: 4, slotsPerCopy: 2, settings: fixed) == 2)
        // A slow node's answers (10 s) keep the 1 s cap.
        let slow = CapacityPlanner.Demand(rate: 0.3, serviceSeconds: 10)
        #expect(
            CapacityPlanner.wantedCopies(hot, slow, holders: 4, slotsPerCopy: 2)
                == CapacityPlanner.wantedCopies(hot, slow, holders: 4, slotsPerCopy: 2, settings: fixed))
    }

    @Test func aHotModelTakesTheRoomOfIdleRareModels() {
        // The hot model is warm on one node; the three others hold rare models, idle for minutes.
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
            node(2, pulled: pulled, loaded: ["mistral"], vramGB: 16, maxLoaded: 1),
            node(3, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 1.5), now: 1000)
        #expect(moves.count >= 2)
        #expect(moves.allSatisfy { $0.model == hot })
        #expect(Set(moves.map(\.nodeIndex)).count == moves.count)  // one load per node
        // The second copy of phi3 goes before mistral's only copy.
        #expect(moves.first?.nodeIndex == 1 || moves.first?.nodeIndex == 3)
        #expect(moves.contains { $0.nodeIndex == 2 } == (moves.count == 3))
    }

    @Test func aModelsOnlyWarmCopyStaysWhileItsOtherCopiesLoad() {
        // codellama is warm on node 0 and loading on nodes 1 and 2: three copies where its demand
        // wants two. gemma2 queues on one copy and fits on node 0 only in codellama's place.
        let sizes: [String: Int64] = ["codellama": 7, "gemma2": 5]
        let loading = ["codellama": LoadInProgress(startedAt: 995, predictedSeconds: 13)]
        let nodes = [
            node(0, pulled: sizes, loaded: ["codellama"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: sizes, loading: loading, vramGB: 16, maxLoaded: 1),
            node(2, pulled: sizes, loading: loading, vramGB: 16, maxLoaded: 1),
            node(3, pulled: sizes, loaded: ["gemma2"], vramGB: 16, maxLoaded: 1),
        ]
        let demand: [ModelName: CapacityPlanner.Demand] = [
            ModelName("codellama")!: .init(rate: 0.5, serviceSeconds: 1.3), ModelName("gemma2")!: .init(rate: 1.5, serviceSeconds: 1.3),
        ]
        #expect(CapacityPlanner.wantedCopies(ModelName("codellama")!, demand[ModelName("codellama")!]!, holders: 4, slotsPerCopy: 2) == 2)
        #expect(CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000).isEmpty)
        // Once the loads are done, the third copy is a spare like any other.
        let loaded = [
            nodes[0], node(1, pulled: sizes, loaded: ["codellama"], vramGB: 16, maxLoaded: 1),
            node(2, pulled: sizes, loaded: ["codellama"], vramGB: 16, maxLoaded: 1), nodes[3],
        ]
        let moves = CapacityPlanner.plan(nodes: loaded, demand: demand, now: 1010)
        #expect(moves.contains { $0.model == ModelName("gemma2")! && $0.evicting == [ModelName("codellama")!] })
    }

    @Test func aLightLoadEvictsNothing() {
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
        ]
        #expect(CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 0.1, rare: 0.05), now: 1000).isEmpty)
    }

    @Test func freeRoomIsFilledWithoutEvictions() {
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16),
            node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 1), now: 1000)
        #expect(moves.contains(CapacityPlanner.Move(model: hot, nodeIndex: 1, evicting: [], predictedLoadSeconds: 3)))
        #expect(moves.allSatisfy { $0.evicting.isEmpty })
    }

    @Test func vramAndTheLoadedModelCapAreBothRespected() {
        // Node 1 has room for one more model by count, but not by VRAM: 4 + 4 + 2 > 9 GB.
        let big: [String: Int64] = ["llama3.2": 2, "phi3": 4, "mistral": 4]
        let nodes = [
            node(0, pulled: big, loaded: ["llama3.2"], vramGB: 16),
            node(1, pulled: big, loaded: ["phi3", "mistral"], vramGB: 9, maxLoaded: 3),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 2, rare: 0.01, other: 0.3), now: 1000)
        #expect(moves.first { $0.nodeIndex == 1 }?.evicting == [rare])  // the least wanted one goes
        // The cap: with room in VRAM but three models loaded, one must go too.
        let capped = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16),
            node(1, pulled: ["llama3.2": 2, "phi3": 2, "mistral": 2, "gemma": 2], loaded: ["phi3", "mistral", "gemma"], vramGB: 80),
        ]
        #expect(CapacityPlanner.plan(nodes: capped, demand: demand(hot: 2), now: 1000).first?.evicting.count == 1)
    }

    /// (A busy copy drains instead: `DrainTests`.)
    @Test func queuedAndFreshModelsAreNeverEvicted() {
        func plan(_ second: NodeSnapshot, queued: Int = 0) -> [CapacityPlanner.Move] {
            var wanted = demand(hot: 2)
            wanted[rare]?.queued = queued
            return CapacityPlanner.plan(
                nodes: [node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1), second], demand: wanted, now: 1000)
        }
        #expect(!plan(node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1)).isEmpty)
        #expect(plan(node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1), queued: 1).isEmpty)
        #expect(plan(node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1, loadedAt: ["phi3": 990])).isEmpty)  // 10 s ago
        #expect(!plan(node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1, loadedAt: ["phi3": 900])).isEmpty)
    }

    @Test func aCopyBeyondWhatDemandCallsForMayGoBeforeItsMinimumResidency() {
        // In the first minute, cold loads follow the first requests: mistral got a second copy 10 s
        // ago, but at 0.01/s it needs one, and llama3.2 is queueing on a single copy.
        func plan(mistralElsewhere: Bool) -> [CapacityPlanner.Move] {
            CapacityPlanner.plan(
                nodes: [
                    node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
                    node(1, pulled: pulled, loaded: ["mistral"], vramGB: 16, maxLoaded: 1, loadedAt: ["mistral": 990]),
                    node(2, pulled: pulled, loaded: [mistralElsewhere ? "mistral" : "phi3"], vramGB: 16, maxLoaded: 1),
                ], demand: demand(hot: 1.5, rare: 0.01, other: 0.01), now: 1000)
        }
        #expect(plan(mistralElsewhere: true).contains { $0.model == hot && $0.nodeIndex == 1 && $0.evicting == [other] })
        // Its only copy keeps the minimum residency.
        #expect(!plan(mistralElsewhere: false).contains { $0.nodeIndex == 1 })
    }

    /// The first minute's copies follow the first requests: mistral (0.33/s, enough to want a second
    /// copy on its own) got one 30 s ago, while llama3.2 (1.2/s) queues on one copy. Waiting out the
    /// minimum residency kept llama3.2's second copy out until 68 s on the benchmark's fast farm, and
    /// the minute after warm-up measured p95 0.8 s where the layout that followed gave 0.3 s.
    @Test(arguments: [(hotRate: 1.2, mistralAge: 30.0, moves: true), (0.5, 30, false), (0.5, 90, true)])
    func aYoungCopyGivesWayOnlyToAMuchBetterUse(hotRate: Double, mistralAge: Double, moves: Bool) {
        var wanted = demand(hot: hotRate, other: 0.33, service: 1.3)
        wanted[rare] = nil
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["mistral"], vramGB: 16, maxLoaded: 1, loadedAt: ["mistral": 1000 - mistralAge]),
            node(2, pulled: pulled, loaded: ["mistral"], inFlight: ["mistral": 1], vramGB: 16, maxLoaded: 1),
        ]
        #expect(CapacityPlanner.wantedCopies(other, wanted[other]!, holders: 3, slotsPerCopy: 2) == 2)  // not a surplus
        // Node 2's copy is busy; with drains off it is no candidate, and the choice is node 1's young copy or none.
        var settings = CapacityPlanner.Settings()
        settings.drainsBusyCopies = false
        let plan = CapacityPlanner.plan(nodes: nodes, demand: wanted, now: 1000, settings: settings)
        // At 0.5/s a second copy saves 3.5 times what mistral's costs: enough to replace an old copy, not a young one.
        #expect(plan == (moves ? [.init(model: hot, nodeIndex: 1, evicting: [other], predictedLoadSeconds: 3)] : []))
    }

    @Test func anOldCopyGoesBeforeAYoungOne() {
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["mistral"], vramGB: 16, maxLoaded: 1, loadedAt: ["mistral": 970]),
            node(2, pulled: pulled, loaded: ["mistral"], vramGB: 16, maxLoaded: 1, loadedAt: ["mistral": 900]),
        ]
        let plan = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 1.2, other: 0.33, service: 1.3), now: 1000)
        #expect(plan.map(\.nodeIndex) == [2])
    }

    @Test func aPassingQueueTakesFreeRoomButEvictsNothing() {
        // phi3 is asked for now and then (0.1/s) and has two requests queued on its one copy, as
        // happens by chance. llama3.2 has a second copy on node 1 that it hardly needs (0.15/s).
        var wanted = demand(hot: 0.15, rare: 0.1, other: 0.01)
        wanted[rare]?.queued = 2
        let full = [
            node(0, pulled: pulled, loaded: ["phi3", "llama3.2"], vramGB: 16, maxLoaded: 2),
            node(1, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
        ]
        #expect(CapacityPlanner.plan(nodes: full, demand: wanted, now: 1000).isEmpty)
        let roomy = [
            node(0, pulled: pulled, loaded: ["phi3", "llama3.2"], vramGB: 16, maxLoaded: 2),
            node(1, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 2),
        ]
        let moves = CapacityPlanner.plan(nodes: roomy, demand: wanted, now: 1000)
        #expect(moves == [CapacityPlanner.Move(model: rare, nodeIndex: 1, evicting: [], predictedLoadSeconds: 3)])
    }

    @Test func aCopyIsAddedForTheTailEvenWhenTheMeanWaitIsSmall() {
        // llama3.2 at 0.4/s with 3.8 s answers on two copies (four slots): the mean wait is only
        // 0.15 s, but one request in twelve waits noticeably, which is what p95 shows. Node 2's
        // second copy of phi3 is hardly needed.
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(2, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
            node(3, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
        ]
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 0.4, rare: 0.05, service: 3.8), now: 1000)
        #expect(moves.count == 1)
        #expect(moves.first?.model == hot && moves.first?.evicting == [rare])
    }

    @Test func aNodeAlreadyLoadingTakesNoPlannedLoad() {
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16),
            node(1, pulled: pulled, loading: ["mistral": LoadInProgress(startedAt: 999, predictedSeconds: 5)], vramGB: 16),
        ]
        #expect(CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 2), now: 1000).isEmpty)
    }

    @Test func equalDemandDoesNotSwap() {
        // Hysteresis: two models with the same demand, one copy each; adding a second copy of one
        // at the price of the other's only copy saves nothing.
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
        ]
        #expect(CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 0.4, rare: 0.4), now: 1000).isEmpty)
    }

    @Test func thePlanFollowsAPopularityShift() {
        let nodes = [
            node(0, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(1, pulled: pulled, loaded: ["llama3.2"], vramGB: 16, maxLoaded: 1),
            node(2, pulled: pulled, loaded: ["phi3"], vramGB: 16, maxLoaded: 1),
        ]
        // llama3.2 was hot; now phi3 is, and llama3.2 is barely asked for.
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand(hot: 0.05, rare: 1.5), now: 1000)
        #expect(!moves.isEmpty && moves.allSatisfy { $0.model == rare && $0.evicting == [hot] })
    }

    @Test func aLimitTheNodeShowedOverridesTheConfig() {
        // 16 GB configured, but the node showed a model spilling to the CPU with 3 GB in VRAM.
        var limited = node(1, pulled: pulled, loaded: ["phi3"], vramGB: 16, observed: ObservedLimits(vramBytes: 3 * gigabyte))
        #expect(limited.vramBudgetBytes == 3 * gigabyte)
        let moves = CapacityPlanner.plan(
            nodes: [node(0, pulled: pulled, loaded: ["llama3.2"], maxLoaded: 1), limited], demand: demand(hot: 2, rare: 0.01), now: 1000)
        #expect(moves.map(\.evicting) == [[rare]])  // 2 + 2 GB do not fit in 3
        limited = node(1, maxLoaded: 3, observed: ObservedLimits(mostModelsHeld: 5))
        #expect(limited.maxLoadedModels == 5)
    }
}

/// A farm packed with one copy of nearly everything, the moment a large model turns hot: its third
/// copy fits nowhere without unloading the only copy of a model still asked for.
@Suite struct RelocationTests {
    // Sizes in tenths of a GB (the fixtures count whole units) on nodes of 16 GB, 3 models each.
    static let sizes = benchmarkModelSizes
    static let rates: [String: Double] = [
        "codellama": 1.4, "gemma2:9b": 0.7, "gemma2:2b": 0.36, "qwen2.5": 0.33, "llama3.2": 0.3, "llama3.1": 0.28, "mistral": 0.27,
        "phi3": 0.08,
    ]

    func farm(_ layout: [[String]], loadedAt: [Int: [String: Double]] = [:]) -> [NodeSnapshot] {
        layout.enumerated().map { index, models in
            node(index, pulled: Self.sizes, loaded: models, vramGB: 160, maxLoaded: 3, loadRate: 0.15, loadedAt: loadedAt[index] ?? [:])
        }
    }

    var demand: [ModelName: CapacityPlanner.Demand] {
        Dictionary(
            uniqueKeysWithValues: Self.rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
    }

    @Test func aLastCopyMovesAsideSoTheHotModelFits() {
        var layout = [
            ["codellama", "gemma2:2b", "phi3"], ["gemma2:9b", "llama3.2", "qwen2.5"], ["llama3.1", "gemma2:9b", "gemma2:2b"],
            ["codellama", "llama3.2", "mistral"],
        ]
        // Round one: a model whose only copy sits where codellama could go is loaded elsewhere first,
        // in place of a copy that can be spared. Nothing else is loaded meanwhile.
        let first = CapacityPlanner.plan(nodes: farm(layout), demand: demand, now: 1000)
        #expect(first.count == 1)
        func holds(_ names: [String], _ model: ModelName) -> Bool { names.contains { ModelName($0)! == model } }
        guard let relocation = first.first, let from = layout.firstIndex(where: { holds($0, relocation.model) }) else {
            Issue.record("no relocation in \(first)")
            return
        }
        #expect(relocation.model != ModelName("codellama")!)
        #expect(layout.filter { holds($0, relocation.model) }.count == 1)  // it was the only copy
        #expect(relocation.evicting.allSatisfy { victim in layout.filter { holds($0, victim) }.count > 1 })
        layout[relocation.nodeIndex].removeAll { name in relocation.evicting.contains(ModelName(name)!) }
        layout[relocation.nodeIndex].append(relocation.model.canonical)
        // Round two, once it is warm there: codellama's third copy goes where the moved model was.
        let second = CapacityPlanner.plan(
            nodes: farm(layout, loadedAt: [relocation.nodeIndex: [relocation.model.canonical: 1010]]), demand: demand, now: 1015)
        let hot = second.first { $0.model == ModelName("codellama")! }
        #expect(hot?.nodeIndex == from)
        #expect(hot?.evicting.contains(relocation.model) == true)
    }

    /// The debug log says what a relocation is for. Appraised as a copy of its own, one read "gain
    /// 3.7 s, unloading [llama3.2:3b 4.5] costs 4.5 s, needs 2.0x": a move that could not pay for itself.
    @Test func theLogSaysWhatARelocationMakesRoomFor() throws {
        let layout = [
            ["codellama", "gemma2:2b", "phi3"], ["gemma2:9b", "llama3.2", "qwen2.5"], ["llama3.1", "gemma2:9b", "gemma2:2b"],
            ["codellama", "llama3.2", "mistral"],
        ]
        let round = CapacityPlanner.planWithTarget(nodes: farm(layout), demand: demand, now: 1000, explaining: true)
        let made = try #require(round.made.first)
        #expect(made.contains("a relocation: moves its copy off n") && made.contains("to make room for codellama:latest there"), "\(made)")
    }

    @Test func nothingMovesAsideWhenTwoCopiesServeTheHotModel() {
        let layout = [
            ["codellama", "gemma2:2b", "phi3"], ["gemma2:9b", "llama3.2", "qwen2.5"], ["llama3.1", "gemma2:9b", "gemma2:2b"],
            ["codellama", "llama3.2", "mistral"],
        ]
        var calm = demand
        calm[ModelName("codellama")!]?.rate = 0.5
        #expect(CapacityPlanner.plan(nodes: farm(layout), demand: calm, now: 1000).isEmpty)
    }

    @Test func onlyCopiesThatCanBeSparedMakeRoomForARelocation() {
        let layout = [
            ["codellama", "gemma2:2b", "phi3"], ["gemma2:9b", "llama3.2", "qwen2.5"], ["llama3.1", "gemma2:9b", "gemma2:2b"],
            ["codellama", "llama3.2", "mistral"],
        ]
        func relocation(_ wanted: [ModelName: CapacityPlanner.Demand]) -> CapacityPlanner.Move? {
            let planned = CapacityPlanner.FarmLayout(
                nodes: farm(layout), demand: wanted, now: 1000, costModel: CostModel(), settings: .init())
            return planned.relocation(makingRoomFor: ModelName("codellama")!, gain: 1000, on: farm(layout)[2])?.move
        }
        #expect(relocation(demand) != nil)
        // The models with a second copy are busy now: losing one costs more than a move must save,
        // so even a large gain does not cut into them.
        // Cutting into such copies swapped them back a round later.
        var busier = demand
        for name in ["llama3.2", "gemma2:2b", "gemma2:9b"] { busier[ModelName(name)!]?.rate = 0.9 }
        #expect(relocation(busier) == nil)
    }
}

/// A direct move that cuts into a copy still needed is weighed against moving a model aside first.
@Suite struct RelocationBeforeACostlyDirectMoveTests {
    @Test func aLastCopyMovesAsideRatherThanTheHotModelTakingABusyModelsSecondCopy() {
        // Node 0 holds "busy" (one of two copies, each kept busy) and "rare" (its only copy), and may
        // hold two models. The hot model fits there in place of either. Taking "busy" leaves it one copy
        // at 90 % utilisation; moving "rare" to node 1 in place of a model nobody asks for costs a load.
        let sizes: [String: Int64] = ["hot": 70, "busy": 50, "rare": 40, "unasked": 30]
        let rates: [String: Double] = ["hot": 3, "busy": 0.6, "rare": 0.05]
        let nodes = [
            node(0, pulled: sizes, loaded: ["busy", "rare"], vramGB: 160, maxLoaded: 2, loadRate: 0.15),
            node(1, pulled: sizes.filter { $0.key != "hot" }, loaded: ["busy", "unasked"], vramGB: 160, maxLoaded: 2, loadRate: 0.15),
            node(2, pulled: ["hot": 70], loaded: ["hot"], vramGB: 160, maxLoaded: 1, loadRate: 0.15),
        ]
        let demand = Dictionary(
            uniqueKeysWithValues: rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 3)) })
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.first?.model == ModelName("rare")!)
        #expect(moves.first?.nodeIndex == 1)
        #expect(moves.first?.evicting == [ModelName("unasked")!])
        #expect(!moves.contains { $0.evicting.contains(ModelName("busy")!) })
    }
}

/// The two halves of a relocation are weighed apart; they must not each take a copy of the same model.
@Suite struct RelocationSharedVictimTests {
    @Test func aRelocationNeverTakesBothCopiesOfAModel() {
        // "s" has two copies (A and B), each a spare. Making room for "big" on A takes "x" (the only
        // copy, so it moves) and "s"; the only node "x" fits on is B, in place of the other "s".
        let sizes: [String: Int64] = ["big": 80, "x": 40, "s": 30, "y": 60, "z": 50, "w": 50, "q": 70]
        let rates: [String: Double] = ["big": 2, "x": 0.3, "s": 0.05, "y": 0.5, "z": 0.5, "w": 0.5, "q": 0.5]
        let nodes = [["x", "s", "y"], ["s", "z", "w"], ["big", "q"]].enumerated().map { index, models in
            node(index, pulled: sizes, loaded: models, vramGB: 160, maxLoaded: 3, loadRate: 0.15)
        }
        let demand = Dictionary(
            uniqueKeysWithValues: rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 3)) })
        let layout = CapacityPlanner.FarmLayout(nodes: nodes, demand: demand, now: 1000, costModel: CostModel(), settings: .init())
        #expect(layout.relocation(makingRoomFor: ModelName("big")!, gain: 1000, on: nodes[0]) == nil)
    }
}

/// A farm far larger than the benchmark's: every move the plan makes must still be one a node can
/// carry out. Run in release (`swift test -c release -Xswiftc -enable-testing --filter
/// LargeFarmPlanTests`) the time it reports is what a probe round spends planning; see BENCHMARKS.md.
@Suite struct LargeFarmPlanTests {
    @Test func sixtyFourNodesAndAHundredModelsGetOneFittingLoadPerNode() {
        let nodes = randomFarm(nodeCount: 64, modelCount: 100, seed: 9)
        let demand = zipfDemand(modelCount: 100, topRate: 20)
        let moves = CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        #expect(moves.count > 10)
        #expect(Set(moves.map(\.nodeIndex)).count == moves.count)  // one load per node
        for move in moves {
            let before = nodes[move.nodeIndex]
            let after = Set(before.loaded.keys).subtracting(move.evicting).union([move.model])
            #expect(after.count <= 3)
            #expect(after.reduce(Int64(0)) { $0 + before.pulled[$1]!.sizeBytes } <= 160 * gigabyte)
            #expect(move.evicting.allSatisfy { before.loaded[$0] != nil })
        }
    }
}

/// Under Ollama's 80 % rule, `gemma2:9b` fits beside `codellama:13b` only if it loads before the
/// small model that shares the node; the small model then fits back.
@Suite struct ComebackVictimTests {
    // The benchmark's models (`RelocationTests.sizes`), as read 120 s after a shift.
    static let rates: [String: Double] = [
        "codellama": 2.5, "gemma2:2b": 0.21, "gemma2:9b": 1.13, "llama3.1": 0.41, "llama3.2": 0.25, "mistral": 0.415, "phi3": 0.205,
        "qwen2.5": 0.75,
    ]

    func farm(_ layout: [[String]], loadedAt: [Int: [String: Double]] = [:]) -> [NodeSnapshot] {
        RelocationTests().farm(layout, loadedAt: loadedAt)
    }

    var demand: [ModelName: CapacityPlanner.Demand] {
        Dictionary(
            uniqueKeysWithValues: Self.rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
    }

    @Test func aSmallLastCopyMakesWayAndComesBack() {
        // gemma2:9b (1.13/s) on one copy; mistral has a spare copy beside codellama and phi3 (its
        // only copy, 0.2/s). With mistral gone, 9.6 GB stay in use and 80 % of the 6.4 GB free is
        // under gemma2:9b's 5.4 GB: phi3 must go too. Counted as gone for the horizon, it cost 53 s
        // of waiting and kept gemma2:9b on one copy for two minutes; it comes back after the load.
        var layout = [
            ["codellama", "mistral", "phi3"], ["gemma2:9b", "mistral", "qwen2.5"], ["codellama", "llama3.2", "qwen2.5"],
            ["codellama", "gemma2:2b", "llama3.1"],
        ]
        let first = CapacityPlanner.plan(nodes: farm(layout), demand: demand, now: 1000)
        #expect(first.first?.model == ModelName("gemma2:9b")!)
        #expect(first.first?.nodeIndex == 0)
        #expect(Set(first.first?.evicting ?? []) == [ModelName("mistral")!, ModelName("phi3")!])
        layout[0] = ["codellama", "gemma2:9b"]
        let second = CapacityPlanner.plan(nodes: farm(layout, loadedAt: [0: ["gemma2:9b": 1010]]), demand: demand, now: 1012)
        #expect(second.contains { $0.model == ModelName("phi3")! && $0.nodeIndex == 0 && $0.evicting.isEmpty }, "\(second)")
    }
}

/// A busy model's second copy that fits back after a larger load costs only its absence.
@Suite struct SecondCopyComebackTests {
    @Test func aBusyModelsSecondCopyMakesWayAndIsLoadedBack() {
        // gemma2:9b (0.7/s) has one copy. Node 0 holds second copies of qwen2.5 and llama3.1 (0.6/s
        // each, both wanting two): 9.4 GB in use leave 80 % of 6.6 GB, under gemma2:9b's 5.4 GB, so
        // one must go, and it fits back once gemma2:9b is loaded. Counted as gone for the horizon it
        // cost 16 s against 26 s saved, under the 2x hysteresis, and gemma2:9b stayed on one copy.
        let rates: [String: Double] = [
            "gemma2:9b": 0.7, "qwen2.5": 0.6, "llama3.1": 0.6, "llama3.2": 0.2, "mistral": 0.2, "phi3": 0.2, "codellama": 0.3,
            "gemma2:2b": 0.2,
        ]
        let demand = Dictionary(
            uniqueKeysWithValues: rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
        let layout = [
            ["qwen2.5", "llama3.1"], ["qwen2.5", "mistral", "phi3"], ["gemma2:9b", "llama3.1", "gemma2:2b"],
            ["codellama", "llama3.2", "gemma2:2b"],
        ]
        let plan = CapacityPlanner.plan(nodes: RelocationTests().farm(layout), demand: demand, now: 1000)
        let gemma = plan.first { $0.model == ModelName("gemma2:9b")! }
        #expect(gemma?.nodeIndex == 0, "\(plan)")
        let victim = try? #require(gemma?.evicting.first)
        #expect(gemma?.evicting.count == 1)
        #expect(victim == ModelName("qwen2.5")! || victim == ModelName("llama3.1")!)
        // It comes back: in this round on another node, or on node 0 once gemma2:9b is warm.
        var after = layout
        after[0] = after[0].filter { ModelName($0)! != victim } + ["gemma2:9b"]
        let next = CapacityPlanner.plan(
            nodes: RelocationTests().farm(after, loadedAt: [0: ["gemma2:9b": 1010]]), demand: demand, now: 1012)
        #expect((plan + next).contains { $0.model == victim }, "\(plan) then \(next)")
    }
}

/// A burst read as a new level must not unload a copy that a steadily hot model needs.
@Suite struct CautiousRateTests {
    @Test func aBurstDoesNotTakeAHotModelsCopy() {
        // Four nodes that hold one model each: "hot" (2.2/s) on three, "burst" on one. At face value
        // "burst" reads 1.8/s, past what one copy serves; its cautious reading is 1.0/s.
        let sizes: [String: Int64] = ["hot": 40, "burst": 40]
        let nodes = [["hot"], ["hot"], ["hot"], ["burst"]].enumerated().map { index, models in
            node(index, pulled: sizes, loaded: models, vramGB: 160, maxLoaded: 1, loadRate: 0.15)
        }
        func plan(cautious: Double?) -> [CapacityPlanner.Move] {
            let demand: [ModelName: CapacityPlanner.Demand] = [
                ModelName("hot")!: .init(rate: 2.2, serviceSeconds: 1.3),
                ModelName("burst")!: .init(rate: 1.8, serviceSeconds: 1.3, cautiousRate: cautious),
            ]
            return CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        }
        #expect(plan(cautious: 1.0).isEmpty)
        // A rise that has held for half a minute has no cautious reading below it, and the copy moves.
        #expect(plan(cautious: nil).first?.evicting == [ModelName("hot")!])
    }
}
