import Testing

@testable import Balancer

/// The benchmark's models, sizes in tenths of a GB (the fixtures count whole units), on nodes of 16 GB
/// with 3 models each.
private let sizes = benchmarkModelSizes

private func roomDemand(_ rates: [String: Double]) -> [ModelName: CapacityPlanner.Demand] {
    Dictionary(uniqueKeysWithValues: rates.map { (ModelName($0.key)!, CapacityPlanner.Demand(rate: $0.value, serviceSeconds: 1.3)) })
}

/// A farm as `layout` lists it, every copy loaded 100 s ago, with `qwen2.5` loading on node
/// `qwenLoadingOn` (or, when nil, loaded there as the layout says).
private func roomFarm(_ layout: [[String]], qwenLoadingOn: Int?) -> [NodeSnapshot] {
    layout.enumerated().map { index, models in
        let loading = index == qwenLoadingOn ? ["qwen2.5": LoadInProgress(startedAt: 999, predictedSeconds: 8)] : [:]
        return node(
            index, pulled: sizes, loaded: models, loading: loading, vramGB: 160, maxLoaded: 3, loadRate: 0.15,
            loadedAt: Dictionary(uniqueKeysWithValues: models.map { ($0, 900) }))
    }
}

/// A copy whose room on the target's node is being made waits for it rather than taking another
/// model's copy elsewhere (`FarmLayout.isMakingRoom`). The state is a 53 % shift run's (seed 7, 46 s
/// after the shift).
@Suite struct RoomOnItsWayTests {
    let rates: [String: Double] = [
        "codellama": 1.43, "gemma2:9b": 0.94, "phi3": 0.56, "llama3.2": 0.385, "qwen2.5": 0.38, "mistral": 0.37, "gemma2:2b": 0.35,
        "llama3.1": 0.30,
    ]
    let gemma = ModelName("gemma2:9b")!
    let codellama = ModelName("codellama")!
    let qwen = ModelName("qwen2.5")!

    var demand: [ModelName: CapacityPlanner.Demand] { roomDemand(rates) }

    /// The farm with `qwen2.5` loading on node 2 (or, `qwenWarm`, loaded there): its copy on node 0
    /// was its only one, and its load on node 2 frees node 0 for `gemma2:9b`'s second copy.
    func farm(qwenWarm: Bool) -> [NodeSnapshot] {
        let layout = [
            ["llama3.1", "llama3.2", "qwen2.5"], ["codellama", "mistral", "phi3"],
            ["codellama", "gemma2:2b"] + (qwenWarm ? ["qwen2.5"] : []), ["codellama", "gemma2:9b", "phi3"],
        ]
        return roomFarm(layout, qwenLoadingOn: qwenWarm ? nil : 2)
    }

    @Test func aCopyWaitsForTheRoomBeingMadeForItInsteadOfTakingAHotModelsCopy() {
        // The target keeps codellama's three copies and puts gemma2:9b's second on node 0, where the
        // room comes once qwen2.5 is warm on node 2. The round took codellama's copy on node 1 for it.
        let loading = CapacityPlanner.planWithTarget(nodes: farm(qwenWarm: false), demand: demand, now: 1000)
        #expect(loading.target[0]?.contains(gemma) == true && loading.target[1]?.contains(codellama) == true, "\(loading.target)")
        #expect(!loading.moves.contains { $0.evicting.contains(codellama) }, "\(loading.moves)")
        #expect(!loading.moves.contains { $0.model == gemma }, "\(loading.moves)")
        // Once qwen2.5's new copy is warm, gemma2:9b takes the room its old one leaves.
        let nodes = farm(qwenWarm: true)
        let previous = Dictionary(uniqueKeysWithValues: loading.target.map { (nodes[$0.key].id, $0.value) })
        let warm = CapacityPlanner.planWithTarget(nodes: nodes, demand: demand, now: 1002, previousTarget: previous)
        #expect(warm.moves.contains { $0.model == gemma && $0.nodeIndex == 0 && $0.evicting == [qwen] }, "\(warm.moves)")
    }

    @Test func roomIsOnItsWayOnlyWhereAModelThereHasACopyLoadingElsewhere() {
        func layout(qwenWarm: Bool) -> CapacityPlanner.FarmLayout {
            let nodes = farm(qwenWarm: qwenWarm)
            var layout = CapacityPlanner.FarmLayout(nodes: nodes, demand: demand, now: 1000, costModel: CostModel(), settings: .init())
            layout.target = CapacityPlanner.TargetLayout(models: CapacityPlanner.targetLayout(nodes: nodes, demand: demand, now: 1000))
            return layout
        }
        // qwen2.5 has two copies, one loading, and the target keeps one.
        #expect(layout(qwenWarm: false).isMakingRoom(for: gemma, on: 0))
        // Node 1 holds nothing with a copy loading elsewhere.
        #expect(!layout(qwenWarm: false).isMakingRoom(for: gemma, on: 1))
        #expect(!layout(qwenWarm: true).isMakingRoom(for: gemma, on: 0))
    }

    /// A model gaining a copy the target wants is not leaving the nodes it is on.
    @Test func aModelGainingACopyTheTargetKeepsMakesNoRoom() {
        let nodes = farm(qwenWarm: false)
        var layout = CapacityPlanner.FarmLayout(nodes: nodes, demand: demand, now: 1000, costModel: CostModel(), settings: .init())
        var kept = CapacityPlanner.targetLayout(nodes: nodes, demand: demand, now: 1000)
        kept[2, default: []].insert(qwen)
        kept[0, default: []].insert(qwen)
        layout.target = CapacityPlanner.TargetLayout(models: kept)
        #expect(!layout.isMakingRoom(for: gemma, on: 0))
    }
}

/// The same on the node the room is made on. The state is a 53 % shift run's (seed 5, 30 s after the
/// shift): `qwen2.5` loads on node 0 so that `codellama` can take its place on node 3.
@Suite struct RoomOnItsWayHereTests {
    let rates: [String: Double] = [
        "codellama": 1.66, "phi3": 0.59, "gemma2:2b": 0.45, "llama3.1": 0.35, "gemma2:9b": 0.34, "mistral": 0.29, "llama3.2": 0.26,
        "qwen2.5": 0.23,
    ]
    let codellama = ModelName("codellama")!
    let qwen = ModelName("qwen2.5")!

    var demand: [ModelName: CapacityPlanner.Demand] { roomDemand(rates) }

    func farm(qwenWarm: Bool) -> [NodeSnapshot] {
        let layout = [
            ["gemma2:9b", "mistral"] + (qwenWarm ? ["qwen2.5"] : []), ["codellama", "gemma2:2b", "phi3"],
            ["codellama", "gemma2:2b", "llama3.1"], ["llama3.2", "phi3", "qwen2.5"],
        ]
        return roomFarm(layout, qwenLoadingOn: qwenWarm ? nil : 0)
    }

    @Test func aCopyWaitsForTheRoomBeingMadeOnItsNode() {
        let loading = CapacityPlanner.planWithTarget(nodes: farm(qwenWarm: false), demand: demand, now: 1000)
        #expect(loading.target[3]?.contains(codellama) == true && loading.target[3]?.contains(qwen) == false, "\(loading.target)")
        // Not in place of phi3 (which the target keeps on node 3) while qwen2.5's room is on its way.
        #expect(!loading.moves.contains { $0.model == codellama }, "\(loading.moves)")
        let nodes = farm(qwenWarm: true)
        let previous = Dictionary(uniqueKeysWithValues: loading.target.map { (nodes[$0.key].id, $0.value) })
        let warm = CapacityPlanner.planWithTarget(nodes: nodes, demand: demand, now: 1002, previousTarget: previous)
        #expect(warm.moves.contains { $0.model == codellama && $0.nodeIndex == 3 && $0.evicting == [qwen] }, "\(warm.moves)")
    }
}
