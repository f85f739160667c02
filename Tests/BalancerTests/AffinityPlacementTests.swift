import Testing

@testable import Balancer

@Suite struct AffinityPlacementTests {
    let model = ModelName("llama3.2")!

    func choose(
        _ nodes: [NodeSnapshot], seed: UInt64 = 1, excluding: Set<Int> = [], conversation: Int? = nil, now: Double = 100,
        demand: [String: Double] = [:], queuedAhead: Int = 0
    ) -> Result<CostModel.Estimate, PlacementFailure> {
        var random = SeededGenerator(state: seed)
        return AffinityPlacement.choose(
            model, among: nodes, excluding: excluding, conversationNode: conversation, now: now,
            demand: { demand[$0.canonical.replacingOccurrences(of: ":latest", with: "")] ?? 0 }, queuedAhead: queuedAhead, using: &random)
    }

    func chosenNode(_ result: Result<CostModel.Estimate, PlacementFailure>) -> Int? {
        if case .success(let estimate) = result { return estimate.nodeIndex }
        return nil
    }

    @Test func aColdLoadUnloadsOneOfSeveralCopiesBeforeAnOnlyCopy() {
        // Node 0 may hold two models: "only" (its only copy, 2 GB) and "many" (6 GB, warm on two more
        // nodes), both loaded moments ago and both asked for. Reloading "many" would cost more, but its
        // other copies keep serving it (answers of half a second leave its slots mostly free); unloading
        // "only" sends its next request to a cold load.
        let pulled: [String: Int64] = ["only": 2, "many": 6, "llama3.2": 2]
        let nodes = [
            node(0, pulled: pulled, loaded: ["only", "many"], service: ["many": 0.5], maxLoaded: 2, loadedAt: ["only": 99, "many": 99]),
            node(1, pulled: ["many": 6], loaded: ["many"]),
            node(2, pulled: ["many": 6], loaded: ["many"]),
        ]
        let estimate = try? choose(nodes, demand: ["only": 1, "many": 1]).get()
        #expect(estimate?.nodeIndex == 0)
        #expect(estimate?.evicting == [ModelName("many")!])
    }

    @Test func aRareModelsColdLoadLeavesTheBusiestModelItsCopies() {
        // Node 0 is full: "codellama" (2.1 requests/s of 1.3 s answers, warm here and on two more
        // nodes), "qwen" (also on node 1) and "gemma2" (its only copy). One of codellama's three
        // copies costs the least to reload, but without it the other two queue: 2.7 busy slots of 4.
        let pulled: [String: Int64] = ["codellama": 7, "qwen": 5, "gemma2": 3, "llama3.2": 2]
        let service: [String: Double] = ["codellama": 1.3, "qwen": 1.3, "gemma2": 1.3]
        let nodes = [
            node(0, pulled: pulled, loaded: ["codellama", "qwen", "gemma2"], service: service, vramGB: 16),
            node(1, pulled: ["codellama": 7, "qwen": 5], loaded: ["codellama", "qwen"], service: service, vramGB: 16),
            node(2, pulled: ["codellama": 7], loaded: ["codellama"], service: service, vramGB: 16),
        ]
        let estimate = try? choose(nodes, demand: ["codellama": 2.1, "qwen": 0.7, "gemma2": 0.3, "llama3.2": 0.2]).get()
        #expect(estimate?.nodeIndex == 0)
        #expect(estimate?.evicting.count == 1)
        #expect(estimate?.evicting.contains(ModelName("codellama")!) == false, "\(String(describing: estimate))")
    }

    @Test func aColdLoadUnloadsAnIdleOnlyCopyRatherThanABusyCopyOfTheBusiestModel() {
        // Nodes hold one model each. Node 0's "codellama" (2.3 requests/s of 1.3 s answers, warm on
        // three nodes) is answering a request; node 3's "rare" (0.3 requests/s, its only copy, 5 GB) is
        // idle. Waiting out three of codellama's answers (3.9 s) is shorter than rare's reload (6 s),
        // but codellama's other two copies would then queue: 3 busy slots of 4.
        let service: [String: Double] = ["codellama": 1.3, "rare": 1.3]
        let nodes = [
            node(
                0, pulled: ["codellama": 7, "llama3.2": 2], loaded: ["codellama"], inFlight: ["codellama": 1], service: service,
                maxLoaded: 1),
            node(1, pulled: ["codellama": 7], loaded: ["codellama"], service: service, maxLoaded: 1),
            node(2, pulled: ["codellama": 7], loaded: ["codellama"], service: service, maxLoaded: 1),
            node(3, pulled: ["rare": 5, "llama3.2": 2], loaded: ["rare"], service: service, maxLoaded: 1),
        ]
        let estimate = try? choose(nodes, demand: ["codellama": 2.3, "rare": 0.3]).get()
        #expect(estimate?.nodeIndex == 3, "\(String(describing: estimate))")
        #expect(estimate?.evicting == [ModelName("rare")!])
        #expect(estimate?.startsNow == true)
    }

    @Test func aModelWithNoLiveCopyUnloadsASpareCopyRatherThanAnotherModelsLastLiveOne() {
        // The outage minute at 50 % load, from the debug log: node 1 stopped and refuses connections,
        // with `llama3.1:8b`'s only copy and one of `phi3:mini`'s two. The request that found it gone
        // needs a cold load. Node 3 could unload `phi3:mini` (0.8 requests/s, now its only live copy,
        // a 4.3 s load) or `gemma2:2b` (0.4/s, also warm on node 0). The requests that come while
        // `phi3:mini` reloads wait too: 3.4 of them, half the load each. Sizes in tenths of a GB.
        let sizes: [String: Int64] = [
            "llama3.2:3b": 20, "phi3:mini": 22, "gemma2:2b": 26, "mistral:7b": 41, "llama3.1:8b": 47, "qwen2.5:7b": 47,
            "gemma2:9b": 54, "codellama:13b": 74,
        ]
        let service = Dictionary(uniqueKeysWithValues: sizes.keys.map { ($0, 1.3) })
        func farmNode(_ index: Int, _ loaded: [String], health: NodeHealth = .healthy, busy: String? = nil) -> NodeSnapshot {
            node(
                index, health: health, pulled: sizes, loaded: loaded, inFlight: busy.map { [$0: 1] } ?? [:], service: service, vramGB: 160,
                loadRate: 0.15, loadedAt: Dictionary(uniqueKeysWithValues: loaded.map { ($0, 0) }))
        }
        let nodes = [
            farmNode(0, ["gemma2:2b", "gemma2:9b", "qwen2.5:7b"]),
            farmNode(1, ["llama3.1:8b", "llama3.2:3b", "phi3:mini"], health: .unhealthy),
            farmNode(2, ["codellama:13b", "llama3.2:3b", "mistral:7b"], busy: "codellama:13b"),
            farmNode(3, ["llama3.2:3b", "phi3:mini", "gemma2:2b"], busy: "llama3.2:3b"),
        ]
        let rates: [ModelName: Double] = [
            ModelName("llama3.2:3b")!: 1.22, ModelName("phi3:mini")!: 0.79, ModelName("gemma2:2b")!: 0.38,
            ModelName("llama3.1:8b")!: 0.31, ModelName("mistral:7b")!: 0.22, ModelName("qwen2.5:7b")!: 0.2,
            ModelName("gemma2:9b")!: 0.14, ModelName("codellama:13b")!: 0.12,
        ]
        var random = SeededGenerator(state: 1)
        let estimate = try? AffinityPlacement.choose(
            ModelName("llama3.1:8b")!, among: nodes, excluding: [1], now: 1000, demand: { rates[$0] ?? 0 }, using: &random
        ).get()
        #expect(estimate?.isColdLoad == true)
        #expect(estimate?.evicting == [ModelName("gemma2:2b")!], "\(String(describing: estimate))")
    }

    @Test func aFreeWarmSlotBeatsEveryColdNode() {
        for seed in 0..<30 as Range<UInt64> {
            let result = choose([node(0), node(1, loaded: ["llama3.2"]), node(2)], seed: seed)
            #expect(chosenNode(result) == 1)
            #expect((try? result.get())?.claim == .warmSlot)
        }
    }

    @Test func aBusyWarmNodeIsWorthWaitingForWhenItsQueueIsShorterThanAColdLoad() {
        // Cold load of 2 GB: 1 s + 2 × 1 s/GB = 3 s. Warm node: both slots busy, answers take 1 s → about 0.5 s.
        let quick = choose([node(0), node(1, loaded: ["llama3.2"], inFlight: ["llama3.2": 2], service: ["llama3.2": 1])])
        #expect(chosenNode(quick) == 1)
        #expect((try? quick.get())?.startsNow == false)  // wait in TensorWall's queue for that node
        // Answers take 20 s: waiting (about 10 s) is worse than a 3 s cold load on the idle node.
        let slow = choose([node(0), node(1, loaded: ["llama3.2"], inFlight: ["llama3.2": 2], service: ["llama3.2": 20])])
        #expect(chosenNode(slow) == 0)
        #expect((try? slow.get())?.claim == .coldLoad(predictedSeconds: 3))
    }

    @Test func theQueueAheadCountsAgainstWaitingForAWarmSlot() {
        // Answers take 1 s on two busy slots: alone, a request waits about 0.5 s, less than a 3 s load.
        let busy = node(1, loaded: ["llama3.2"], inFlight: ["llama3.2": 2], service: ["llama3.2": 1])
        #expect(chosenNode(choose([node(0), busy])) == 1)
        // With 9 requests queued ahead it would wait about 5 s: a new copy on the idle node is sooner.
        let behindAQueue = choose([node(0), busy], queuedAhead: 9)
        #expect(chosenNode(behindAQueue) == 0)
        #expect((try? behindAQueue.get())?.claim == .coldLoad(predictedSeconds: 3))
    }

    @Test func aColdLoadUnloadsTheIdleModelWhoseLossCostsLeast() {
        // Node 0 is full (3 models): "wanted" is asked for often, "stale" never; both idle.
        let full = node(
            0, pulled: ["llama3.2": 2, "wanted": 2, "stale": 2, "busy": 2], loaded: ["wanted", "stale", "busy"], inFlight: ["busy": 1],
            lastUsed: ["wanted": 10, "stale": 90])  // "stale" was used more recently: LRU would pick "wanted"
        let result = choose([full], demand: ["wanted": 0.5])
        #expect((try? result.get())?.evicting == [ModelName("stale")!])
    }

    @Test func aSecondRequestJoinsALoadAlreadyUnderWay() {
        let load = LoadInProgress(startedAt: 99, predictedSeconds: 3)  // 2 s left at now = 100
        let result = choose([node(0, loading: ["llama3.2": load], inFlight: ["llama3.2": 1]), node(1)])
        #expect(chosenNode(result) == 0)
        #expect((try? result.get())?.claim == .joinLoad)
    }

    /// With no warm copy, a queue drains only once the load ends: the 12th request in line behind a
    /// 13 s load on a two-slot node waits for the load and then for five rounds of 3.8 s answers.
    @Test func aQueueBehindTheOnlyLoadDrainsAfterIt() {
        let load = LoadInProgress(startedAt: 100, predictedSeconds: 13)
        let loadingOnly = [node(0, loading: ["llama3.2": load], inFlight: ["llama3.2": 2], service: ["llama3.2": 3.8])]
        let wait = AffinityPlacement.queueWaitSeconds(model, tier: loadingOnly, queuedAhead: 11, service: 3.8, now: 100)
        #expect(abs(wait - (13 + 5 * 3.8)) < 1e-9)
        // The first two in line take the new slots as the load ends.
        #expect(AffinityPlacement.queueWaitSeconds(model, tier: loadingOnly, queuedAhead: 1, service: 3.8, now: 100) == 13)
        // Joining that load counts the load once, not twice.
        let estimate = try? choose(loadingOnly, queuedAhead: 11).get()
        #expect(estimate?.claim == .joinLoad && abs((estimate?.seconds ?? 0) - (13 + 5 * 3.8)) < 1e-9, "\(String(describing: estimate))")
    }

    @Test func aLoadUnderWayWinsANearTieWithANewColdLoad() {
        // 2.99 s left of the load on node 0; a fresh cold load on node 1 predicts 3 s: join, never load twice.
        for seed in 0..<50 as Range<UInt64> {
            let load = LoadInProgress(startedAt: 99.99, predictedSeconds: 3)
            let result = choose([node(0, loading: ["llama3.2": load], inFlight: ["llama3.2": 1]), node(1)], seed: seed)
            #expect(chosenNode(result) == 0)
        }
    }

    @Test func neverEvictsAModelThatIsServingRequests() {
        let full = node(
            0, pulled: ["llama3.2": 2, "a": 2, "b": 2, "c": 2], loaded: ["a", "b", "c"], inFlight: ["a": 1, "b": 1, "c": 1])
        let result = choose([full, node(1, loadRate: 5)])  // node 1 loads slowly (11 s) but evicts nothing busy
        #expect(chosenNode(result) == 1)
        let onlyFull = choose([full])
        #expect((try? onlyFull.get())?.startsNow == false)  // wait rather than stall the node
    }

    @Test func keepsModelsInDemandLoaded() {
        // Both nodes must evict one idle model for the load; node 0's victim is asked for constantly.
        let busyVictim = node(0, pulled: ["llama3.2": 2, "hot": 8], loaded: ["hot"], vramGB: 9, maxLoaded: 3)
        let coldVictim = node(1, pulled: ["llama3.2": 2, "stale": 8], loaded: ["stale"], vramGB: 9, maxLoaded: 3)
        for seed in 0..<20 as Range<UInt64> {
            #expect(chosenNode(choose([busyVictim, coldVictim], seed: seed, demand: ["hot": 2])) == 1)
        }
    }

    @Test func avoidsSpillingAModelThatDoesNotFitInVRAM() {
        let big = ModelName("big")!
        let small = node(0, pulled: ["big": 12], vramGB: 8)
        let large = node(1, pulled: ["big": 12], vramGB: 24, loadRate: 3)
        var random = SeededGenerator(state: 3)
        let result = AffinityPlacement.choose(big, among: [small, large], now: 0, using: &random)
        #expect((try? result.get())?.nodeIndex == 1)
    }

    @Test func theConversationsNodeIsKeptWhileItHasASlot() {
        let nodes = [node(0, loaded: ["llama3.2"]), node(1, loaded: ["llama3.2"]), node(2, loaded: ["llama3.2"])]
        for seed in 0..<30 as Range<UInt64> {
            #expect(chosenNode(choose(nodes, seed: seed, conversation: 2)) == 2)
        }
        let saturated = [node(0, loaded: ["llama3.2"]), node(1, loaded: ["llama3.2"], inFlight: ["llama3.2": 2])]
        #expect(chosenNode(choose(saturated, conversation: 1)) == 0)
    }

    @Test func lowerPriorityTiersServeOnlyWhenTheFirstCannot() {
        for seed in 0..<20 as Range<UInt64> {
            #expect(chosenNode(choose([node(0, loaded: ["llama3.2"], priority: 1), node(1, priority: 0)], seed: seed)) == 1)
        }
        #expect(chosenNode(choose([node(0, health: .unhealthy, priority: 0), node(1, priority: 1)])) == 1)
    }

    @Test func weightSplitsLoadBetweenEqualsAndTiesAreRandom() {
        var counts = [0, 0]
        var random = SeededGenerator(state: 7)
        let nodes = [node(0, loaded: ["llama3.2"], weight: 300), node(1, loaded: ["llama3.2"], weight: 100)]
        for _ in 0..<4000 {
            if case .success(let estimate) = AffinityPlacement.choose(model, among: nodes, now: 0, using: &random) {
                counts[estimate.nodeIndex] += 1
            }
        }
        #expect((2800...3200).contains(counts[0]), "\(counts)")
        var chosen = Set<Int>()
        for seed in 0..<40 as Range<UInt64> {
            if let index = chosenNode(choose([node(0), node(1), node(2)], seed: seed)) { chosen.insert(index) }
        }
        #expect(chosen == [0, 1, 2])
    }

    @Test func aNearTieLeansToTheNodeRunningLess() {
        // Both have a free warm slot for llama3.2; node 0 is also running two requests for another
        // model on the same GPU. Its share is its weight over three (running + 1): a quarter.
        var counts = [0, 0]
        var random = SeededGenerator(state: 11)
        let nodes = [
            node(0, pulled: ["llama3.2": 2, "mistral": 4], loaded: ["llama3.2", "mistral"], inFlight: ["mistral": 2]),
            node(1, loaded: ["llama3.2"]),
        ]
        for _ in 0..<4000 {
            if case .success(let estimate) = AffinityPlacement.choose(model, among: nodes, now: 0, using: &random) {
                counts[estimate.nodeIndex] += 1
            }
        }
        #expect((2800...3200).contains(counts[1]), "\(counts)")
    }

    @Test func unknownModelAndUnhealthyHoldersAreDifferentFailures() {
        #expect(choose([node(0, pulled: ["mistral": 4])]) == .failure(.modelNotFound))
        #expect(choose([node(0, health: .unhealthy), node(1, pulled: [:])]) == .failure(.noHealthyNode))
        #expect(choose([node(0, health: .unknown, pulled: [:])]) == .failure(.noHealthyNode))
        #expect(chosenNode(choose([node(0, loaded: ["llama3.2"]), node(1)], excluding: [0])) == 1)
    }
}

@Suite struct CostModelTests {
    @Test func evictionVictimsAreIdleLeastRecentlyUsedFirst() {
        let loaded = ["a", "b"].map { ModelName($0)! }.reduce(into: [ModelName: LoadedModel]()) {
            $0[$1] = LoadedModel(name: $1, sizeBytes: gigabyte, vramBytes: gigabyte, expiresAt: nil)
        }
        let victims = CostModel.evictionVictims(
            for: gigabyte, loaded: loaded, loadingSizes: [], inFlight: [:], lastUsed: [ModelName("a")!: 10, ModelName("b")!: 5],
            maxLoadedModels: 2, fit: nil)
        #expect(victims == [ModelName("b")!])
        let busy = CostModel.evictionVictims(
            for: gigabyte, loaded: loaded, loadingSizes: [], inFlight: [ModelName("b")!: 1],
            lastUsed: [ModelName("a")!: 10, ModelName("b")!: 5], maxLoadedModels: 2, fit: nil)
        #expect(busy == [ModelName("a")!])
    }

    @Test func learnedLoadRatesReplaceTheDefault() {
        let model = ModelName("llama3.2")!
        #expect(CostModel().predictedLoadSeconds(model, on: node(0)) == 3)
        #expect(CostModel().predictedLoadSeconds(model, on: node(0, loadRate: 4)) == 9)
    }
}

@Suite struct SimpleStrategyTests {
    let model = ModelName("llama3.2")!

    @Test func roundRobinRotatesInPriorityOrder() {
        var random = SeededGenerator(state: 1)
        let nodes = [node(0, priority: 1), node(1, priority: 0), node(2, priority: 0)]
        let order = (0..<6).map { rotation in
            try! SimpleStrategy.choose(.roundRobin, model, among: nodes, rotation: rotation, using: &random).get()
        }
        #expect(order == [1, 2, 0, 1, 2, 0])
    }

    @Test func weightedIgnoresPriorityAndFollowsWeight() {
        var random = SeededGenerator(state: 9)
        let nodes = [node(0, weight: 80, priority: 0), node(1, weight: 20, priority: 1)]
        var counts = [0, 0]
        for _ in 0..<5000 { counts[try! SimpleStrategy.choose(.weighted, model, among: nodes, rotation: 0, using: &random).get()] += 1 }
        #expect((900...1100).contains(counts[1]), "\(counts)")
    }

    @Test func leastBusyPicksTheFewestInFlight() throws {
        var random = SeededGenerator(state: 1)
        let nodes = [node(0, inFlight: ["llama3.2": 3]), node(1, inFlight: ["other": 1]), node(2, inFlight: ["llama3.2": 2])]
        #expect(try SimpleStrategy.choose(.leastBusy, model, among: nodes, rotation: 0, using: &random).get() == 1)
    }
}
