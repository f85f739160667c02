import Testing

@testable import Balancer

/// A model with few requests of its own is judged by the farm's (`ContextLengthTally.judged`).
@Suite struct ContextLengthTallyFarmTests {
    let hot = ModelName("llama3.2")!
    let new = ModelName("phi3")!

    @Test func aModelWithFewRequestsIsLoadedForTheLengthTheFarmsRequestsAsk() {
        var tally = ContextLengthTally()
        for index in 0..<10 { tally.record(hot, contextLength: index % 3 == 0 ? 8192 : nil) }
        tally.record(new, contextLength: nil)
        // phi3's one request set none; the farm's last eleven are best served by 8192.
        #expect(tally.usual(new, automatic: 4096) == 8192)
        #expect(tally.longestAsked(new) == 8192)
        // A runner it holds is reloaded only for what its own requests ask.
        #expect(tally.usualOfItsOwn(new, automatic: 4096) == nil)
        // ...and the state file keeps only what its own requests asked.
        #expect(tally.usualLengths(automatic: [hot: 4096, new: 4096]) == [hot: 8192])
        // Once it has had `fewAsks` of its own, they decide.
        for _ in 1..<ContextLengthTally.fewAsks { tally.record(new, contextLength: nil) }
        #expect(tally.usual(new, automatic: 4096) == nil)
        #expect(tally.longestAsked(new) == nil)
    }

    @Test func aSeedCountsForItsModelAloneUntilRequestsCome() {
        var tally = ContextLengthTally()
        tally.seed(hot, contextLength: 8192)
        #expect(tally.usual(hot, automatic: 4096) == 8192)
        #expect(tally.usual(new, automatic: 4096) == nil)
    }
}
