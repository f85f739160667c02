import Testing

@testable import Balancer

/// Which idle runners are reloaded for the length most of their model's requests are served by
/// (`Cluster.runnersToLengthen`).
@Suite struct RunnerLengtheningTests {
    let model = ModelName("llama3.2")!

    /// One healthy node holding `model` idle, its runner loaded first for a request that set no
    /// length (shown at 4096), then, if `explicit` is set, for that length; the recent requests `asks`.
    func cluster(explicit: Int?, asks: [Int?]) async -> Cluster {
        var runners: [(asked: RunnerContexts.Asked?, shown: Int)] = [(.automatic, 4096)]
        if let explicit { runners.append((.length(explicit), explicit)) }
        let cluster = await clusterHolding(model, runners: runners)
        cluster.contextLengthTally.withLock { tally in for ask in asks { tally.record(model, contextLength: ask) } }
        return cluster
    }

    @Test func aRunnerAtTheAutomaticLengthIsReloadedForTheLongerOneMostRequestsAsk() async {
        let runners = await cluster(explicit: nil, asks: [nil, 8192]).runnersToLengthen()
        #expect(runners.map(\.model) == [model])
        #expect(runners.first?.contextLength == 8192)
        // Requests that set none are best served by the automatic runner as it is.
        #expect(await cluster(explicit: nil, asks: [nil, nil]).runnersToLengthen().isEmpty)
        // A shorter explicit length would not serve the requests that set none.
        #expect(await cluster(explicit: nil, asks: [2048, 2048, nil]).runnersToLengthen().isEmpty)
    }

    /// A runner loaded for another explicit length serves clients of its own: reloaded for the
    /// length that now serves most, they would lose it and load it back.
    @Test func aRunnerLoadedForAnExplicitLengthIsLeftAlone() async {
        #expect(await cluster(explicit: 8192, asks: [nil, 8192, 16384, 16384]).runnersToLengthen().isEmpty)
    }

    /// A model's own requests decide a reload: other models' clients asking a longer length say
    /// nothing of its clients, and the reload would be a load for nothing.
    @Test func aRunnerIsNotReloadedForTheLengthOtherModelsRequestsAsk() async {
        let cluster = await cluster(explicit: nil, asks: [nil, nil])
        let other = ModelName("qwen2.5")!
        cluster.contextLengthTally.withLock { tally in for _ in 0..<10 { tally.record(other, contextLength: 8192) } }
        #expect(await cluster.runnersToLengthen().isEmpty)
        // Its own requests asking the longer length do reload it.
        cluster.contextLengthTally.withLock { tally in for _ in 0..<3 { tally.record(model, contextLength: 8192) } }
        #expect(await cluster.runnersToLengthen().map(\.contextLength) == [8192])
    }
}
