import Testing

@testable import Balancer

/// The copies a farm has no place for, and when the operator is told: the benchmark's eight models
/// at half its capacity, on nodes that keep two models loaded and on nodes that keep three.
@Suite struct RoomShortfallTests {
    static let halfLoadRates: [String: Double] = [
        "llama3.2": 1.28, "phi3": 0.85, "gemma2:2b": 0.45, "llama3.1": 0.3, "qwen2.5": 0.2, "mistral": 0.2, "codellama": 0.17,
        "gemma2:9b": 0.15,
    ]

    static func demand() -> [ModelName: CapacityPlanner.Demand] {
        Dictionary(
            uniqueKeysWithValues: halfLoadRates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
    }

    static func farm(maxLoaded: Int) -> [NodeSnapshot] {
        (0..<4).map { node($0, pulled: benchmarkModelSizes, vramGB: 160, maxLoaded: maxLoaded, loadRate: 0.15) }
    }

    @Test func fourNodesOfTwoModelsLeaveTheHotModelShortAndFourNodesOfThreeDoNot() {
        let capped = CapacityPlanner.sizing(nodes: Self.farm(maxLoaded: 2), demand: Self.demand(), now: 1000)
        #expect(capped.target.values.reduce(0) { $0 + $1.count } == 8, "\(capped.target)")
        let hot = ModelName("llama3.2")!
        let hotPlaced = capped.target.values.count { $0.contains(hot) }
        #expect((capped.leftOutForRoom[hot] ?? 0) >= 1, "\(capped.leftOutForRoom)")
        #expect(hotPlaced + (capped.leftOutForRoom[hot] ?? 0) <= capped.wanted[hot] ?? 0)
        let roomy = CapacityPlanner.sizing(nodes: Self.farm(maxLoaded: 3), demand: Self.demand(), now: 1000)
        #expect(roomy.leftOutForRoom.isEmpty, "\(roomy.leftOutForRoom), \(roomy.target), \(roomy.wanted)")
        // What the planner's round reports is what `/status` shows.
        let round = CapacityPlanner.planWithTarget(nodes: Self.farm(maxLoaded: 2), demand: Self.demand(), now: 1000)
        #expect(round.leftOutForRoom == capped.leftOutForRoom)
    }

    /// A model asked for less than once a horizon takes a place only if one is free: on a full farm
    /// its copy is no shortfall, or every farm with a rarely used model pulled would be told to grow.
    @Test func aModelAskedForRarelyIsNoShortfall() {
        var sizes = benchmarkModelSizes
        sizes["tinyllama"] = 6
        let nodes = (0..<4).map { node($0, pulled: sizes, vramGB: 160, maxLoaded: 3, loadRate: 0.15) }
        var demand = Self.demand()
        demand[ModelName("tinyllama")!] = CapacityPlanner.Demand(rate: 0.01, serviceSeconds: 1.3)
        let sized = CapacityPlanner.sizing(nodes: nodes, demand: demand, now: 1000)
        #expect(!sized.target.values.contains { $0.contains(ModelName("tinyllama")!) }, "\(sized.target)")
        #expect(sized.leftOutForRoom.isEmpty, "\(sized.leftOutForRoom)")
    }

    @Test func theOperatorIsToldOnceTheShortfallHoldsThenSeldom() {
        let hot = ModelName("llama3.2")!
        let rare = ModelName("gemma2:9b")!
        var shortfall = RoomShortfall()
        var now = 0.0
        func round(_ leftOut: [ModelName: Int]) -> Bool {
            now += 2
            return shortfall.isDue(leftOut: leftOut, now: now)
        }
        // A cold start's passing shortfall is not said; an empty round starts the count again.
        for _ in 1..<RoomShortfall.roundsBeforeSaying { #expect(!round([hot: 1])) }
        #expect(!round([:]))
        for _ in 1..<RoomShortfall.roundsBeforeSaying { #expect(!round([hot: 1])) }
        #expect(round([hot: 1]))
        // Then quiet, even when other models fall short.
        #expect(!round([hot: 1, rare: 1]))
        now += RoomShortfall.quietSeconds
        #expect(round([hot: 1, rare: 1]))
        // The same models again only after the longer pause.
        now += RoomShortfall.quietSeconds
        #expect(!round([hot: 1, rare: 1]))
        now += RoomShortfall.repeatSeconds
        #expect(round([hot: 1, rare: 1]))
    }

    @Test func theLineNamesEachShortModelWithItsCopiesAndTheFarmsPlaces() {
        let nodes = Self.farm(maxLoaded: 2)
        let hot = ModelName("llama3.2")!
        let target: [Int: Set<ModelName>] = [0: [hot, ModelName("phi3")!], 1: [ModelName("mistral")!]]
        let line = RoomShortfall.describe(leftOut: [hot: 2, ModelName("codellama")!: 1], target: target, nodes: nodes)
        #expect(
            line
                == "no place on the farm for every copy its demand calls for: codellama:latest gets 0 of the 1 copies it needs, "
                + "llama3.2:latest gets 1 of the 3 copies it needs (the 4 healthy nodes hold at most 8 models at once, fewer where "
                + "the VRAM is full); their requests wait for slots however they are placed. Add nodes, or raise "
                + "OLLAMA_MAX_LOADED_MODELS (and maxLoadedModels in cluster.json) where the VRAM allows")
    }
}
