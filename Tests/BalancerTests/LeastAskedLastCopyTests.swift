import Testing

@testable import Balancer

/// A farm with fewer places than asked-for models: a model with no copy must take some model's last
/// copy, and it takes the least asked-for one, so the hot models stay warm and no chain of cold loads starts.
@Suite struct LeastAskedLastCopyTests {
    /// Two benchmark nodes (capped at three models) holding six of the eight models once each, loaded
    /// long ago, at the rates the two-node benchmark farm saw at half load.
    let demand: [String: Double] = [
        "llama3.2": 0.75, "phi3": 0.38, "gemma2:2b": 0.18, "mistral": 0.13, "llama3.1": 0.12, "qwen2.5": 0.09, "gemma2:9b": 0.08,
        "codellama": 0.07,
    ]

    func farm(inFlight: [String: Int] = [:], serviceSeconds: Double = 1.3) -> [NodeSnapshot] {
        let service = Dictionary(uniqueKeysWithValues: demand.keys.map { ($0, serviceSeconds) })
        return [
            node(
                0, pulled: benchmarkModelSizes, loaded: ["llama3.2", "phi3", "mistral"], inFlight: inFlight, service: service, vramGB: 160,
                loadRate: 0.15),
            node(
                1, pulled: benchmarkModelSizes, loaded: ["gemma2:2b", "llama3.1", "qwen2.5"], inFlight: inFlight, service: service,
                vramGB: 160, loadRate: 0.15),
        ]
    }

    /// `rates` read by model name, as the fixtures spell them (without `:latest`).
    static func rate(in rates: [String: Double]) -> (ModelName) -> Double {
        { rates[$0.canonical.replacingOccurrences(of: ":latest", with: "")] ?? 0 }
    }

    func choose(
        _ model: String, among nodes: [NodeSnapshot], demand: [String: Double]? = nil, measuredSeconds: Double = .infinity
    ) -> CostModel.Estimate? {
        var random = SeededGenerator(state: 1)
        let result = AffinityPlacement.choose(
            ModelName(model)!, among: nodes, now: 1000, demand: Self.rate(in: demand ?? self.demand),
            demandMeasuredSeconds: measuredSeconds, using: &random)
        return try? result.get()
    }

    @Test func aModelWithNoCopyTakesTheLeastAskedForPlaceNotTheHotModelsQuickReload() {
        // The hottest model reloads in 4 s and the least asked-for one in 8 s, so by reload cost alone
        // the hot model's only copy goes, and its next request takes another model's place in turn.
        let estimate = choose("gemma2:9b", among: farm())
        #expect(estimate?.isColdLoad == true)
        #expect(estimate?.nodeIndex == 1)
        #expect(estimate?.unloads == [ModelName("qwen2.5")!], "\(String(describing: estimate))")
    }

    @Test func demandMeasuredForUnderAMinuteSparesNoCopy() {
        // The same farm and rates, read 30 s into a cold start: counts of a few requests rank nothing,
        // and cost alone picks the victim (not qwen2.5). From a minute on the least asked-for goes.
        let early = choose("gemma2:9b", among: farm(), measuredSeconds: 30)
        #expect(early?.isColdLoad == true)
        #expect(early?.unloads.isEmpty == false)
        #expect(early?.unloads.contains(ModelName("qwen2.5")!) == false, "\(String(describing: early))")
        let measured = choose("gemma2:9b", among: farm(), measuredSeconds: AffinityPlacement.sparingEvidenceSeconds)
        #expect(measured?.unloads == [ModelName("qwen2.5")!], "\(String(describing: measured))")
    }

    @Test func aBusyLeastAskedForCopyGivesWayToOneAboutAsRareNotToTheHotModels() {
        // qwen2.5 is answering; an idle model about as rare goes instead, never one of the hot three.
        let estimate = choose("gemma2:9b", among: farm(inFlight: ["qwen2.5": 1]))
        let hot = Set(["llama3.2", "phi3", "gemma2:2b"].map { ModelName($0)! })
        #expect(estimate?.isColdLoad == true)
        #expect(estimate?.unloads.isEmpty == false)
        #expect(Set(estimate?.unloads ?? []).isDisjoint(with: hot) == true, "\(String(describing: estimate))")
    }

    @Test func modelsAboutAsRareAreRankedByCost() {
        // mistral (0.085/s) is within the tolerance of qwen2.5 (0.08/s): either may go, and cost picks
        // mistral, since qwen2.5 was loaded moments ago and costs twice its reload to unload.
        var rates = demand
        rates["mistral"] = 0.085
        rates["qwen2.5"] = 0.08
        var nodes = farm()
        nodes[1] = node(
            1, pulled: benchmarkModelSizes, loaded: ["gemma2:2b", "llama3.1", "qwen2.5"],
            service: Dictionary(uniqueKeysWithValues: demand.keys.map { ($0, 1.3) }), vramGB: 160, loadRate: 0.15,
            loadedAt: ["qwen2.5": 990])
        let estimate = choose("gemma2:9b", among: nodes, demand: rates)
        #expect(estimate?.unloads == [ModelName("mistral")!], "\(String(describing: estimate))")
    }

    @Test func aRequestThatWouldBeRefusedMayTakeAHotModelsPlace() {
        // Node 1's two rare models are both answering 10 s requests: a load there waits for three of
        // them. `soonest`, asked for a request that would otherwise be refused, takes a hot model's idle
        // place on node 0 instead, as a refusal is for a farm that cannot serve.
        let nodes = farm(inFlight: ["qwen2.5": 1, "llama3.1": 1], serviceSeconds: 10)
        let soonest = AffinityPlacement.soonest(ModelName("gemma2:9b")!, among: nodes, now: 1000, demand: Self.rate(in: demand))
        #expect(soonest?.nodeIndex == 0, "\(String(describing: soonest))")
        #expect(soonest?.startsNow == true)
        // The ranked choice still spares the hot models and waits on node 1.
        #expect(choose("gemma2:9b", among: nodes)?.nodeIndex == 1)
    }
}
