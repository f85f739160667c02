import Testing

@testable import Balancer

/// Which requests a loaded runner serves without Ollama reloading it (`RunnerContexts`).
@Suite struct RunnerContextsTests {
    let model = ModelName("llama3.2")!

    @Test func aRunnerNothingIsKnownOfServesEveryRequest() {
        let contexts = RunnerContexts()
        #expect(contexts.serves(model, contextLength: nil))
        #expect(contexts.serves(model, contextLength: 8192))
        #expect(contexts.contextLength(of: model) == nil)
    }

    @Test func aRunnerServesTheLengthItWasLastAskedAndNoOther() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: 8192, now: 1)
        #expect(contexts.serves(model, contextLength: 8192))
        #expect(!contexts.serves(model, contextLength: 2048))
        // The node's automatic length is not known: a request without num_ctx may reload it.
        #expect(!contexts.serves(model, contextLength: nil))
        #expect(contexts.contextLength(of: model) == 8192)
    }

    @Test func theAutomaticLengthIsLearnedFromARunnerLoadedWithoutOne() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: nil, now: 1)
        #expect(contexts.serves(model, contextLength: nil))
        // Until a probe shows it, an explicit length may differ from the automatic one.
        #expect(!contexts.serves(model, contextLength: 4096))
        contexts.reported(model, contextLength: 4096, sentAt: 2)
        #expect(contexts.serves(model, contextLength: 4096))
        #expect(!contexts.serves(model, contextLength: 8192))
        // Later loaded for 4096 by name, the runner still serves requests without num_ctx.
        contexts.asked(model, contextLength: 4096, now: 3)
        #expect(contexts.serves(model, contextLength: nil))
    }

    @Test func aProbeSentBeforeTheRunnerWasAskedAgainShowsTheRunnerBefore() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: nil, now: 1)
        contexts.reported(model, contextLength: 4096, sentAt: 2)
        contexts.asked(model, contextLength: 8192, now: 3)
        contexts.reported(model, contextLength: 4096, sentAt: 2.5)
        #expect(contexts.serves(model, contextLength: 8192))
        #expect(contexts.contextLength(of: model) == 8192)
    }

    @Test func aRunnerLoadedByAnotherIsKnownByWhatTheProbeShows() {
        var contexts = RunnerContexts()
        contexts.reported(model, contextLength: 2048, sentAt: 1)
        #expect(contexts.serves(model, contextLength: 2048))
        #expect(!contexts.serves(model, contextLength: 8192))
        // Whether 2048 is the automatic length is not known: given the benefit of the doubt.
        #expect(contexts.serves(model, contextLength: nil))
        #expect(contexts.contextLength(of: model) == 2048)
    }

    @Test func aRequestWithoutALengthRidesARunnerLoadedForALongerOne() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: nil, now: 1)
        contexts.reported(model, contextLength: 4096, sentAt: 2)
        #expect(contexts.ridingLength(model) == nil)
        // Reloaded for 8192: a request that sets none is sent with 8192 and served as it is.
        contexts.asked(model, contextLength: 8192, now: 3)
        #expect(contexts.serves(model, contextLength: nil))
        #expect(contexts.ridingLength(model) == 8192)
        // Never on a shorter one: the request would get less than the automatic length.
        contexts.asked(model, contextLength: 2048, now: 4)
        #expect(!contexts.serves(model, contextLength: nil))
        #expect(contexts.ridingLength(model) == nil)
        // Explicitly the automatic length: served as it is, with nothing to add.
        contexts.asked(model, contextLength: 4096, now: 5)
        #expect(contexts.serves(model, contextLength: nil))
        #expect(contexts.ridingLength(model) == nil)
    }

    @Test func aNodeThatNeverLearnedItsAutomaticLengthTakesTheFarms() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: 8192, now: 1)
        #expect(!contexts.serves(model, contextLength: nil))
        #expect(contexts.ridingLength(model) == nil)
        #expect(contexts.serves(model, contextLength: nil, farmAutomatic: 4096))
        #expect(contexts.ridingLength(model, farmAutomatic: 4096) == 8192)
        // Nodes whose automatic length is longer (a larger VRAM tier) are not ridden.
        #expect(!contexts.serves(model, contextLength: nil, farmAutomatic: 32768))
        #expect(contexts.ridingLength(model, farmAutomatic: 32768) == nil)
    }

    @Test func underAtLeastALongerRunnerServesAShorterExplicitAsk() {
        var contexts = RunnerContexts()
        contexts.asked(model, contextLength: nil, now: 1)
        contexts.reported(model, contextLength: 4096, sentAt: 2)
        // LlamaIndex asks 3900: a reload under Ollama's own rule, the 4096 runner under atLeast.
        #expect(!contexts.serves(model, contextLength: 3900))
        #expect(contexts.lengthToSend(model, asking: 3900) == nil)
        #expect(contexts.serves(model, contextLength: 3900, atLeast: true))
        #expect(contexts.lengthToSend(model, asking: 3900, atLeast: true) == 4096)
        // Never a longer ask on a shorter runner, and an equal one goes as it is.
        #expect(!contexts.serves(model, contextLength: 8192, atLeast: true))
        #expect(contexts.lengthToSend(model, asking: 4096, atLeast: true) == nil)
        contexts.asked(model, contextLength: 8192, now: 3)
        #expect(contexts.lengthToSend(model, asking: 3900, atLeast: true) == 8192)
        #expect(contexts.lengthToSend(model, asking: nil, atLeast: true) == 8192)
    }

    @Test func anUnloadedRunnerIsForgotten() async {
        let node = OllamaNode(config: ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2))
        await node.runnerAsked(model, contextLength: 8192, now: 0)
        #expect(await !node.snapshot(index: 0).runnerContexts.serves(model, contextLength: nil))
        let probe = ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil)
        await node.apply(ProbeReport(pulled: [], loaded: []), outcome: probe, now: 1, sentAt: 1)
        #expect(await node.snapshot(index: 0).runnerContexts.serves(model, contextLength: nil))
    }
}

/// Which context length a load ahead of requests is for (`ContextLengthTally`).
@Suite struct ContextLengthTallyTests {
    let model = ModelName("llama3.2")!

    @Test func theLengthMostRecentRequestsAskedWins() {
        var tally = ContextLengthTally()
        #expect(tally.usual(model) == nil)
        for index in 0..<10 { tally.record(model, contextLength: index % 3 == 0 ? 8192 : nil) }
        // Four of ten asked 8192, the last among them: the six without num_ctx still win.
        #expect(tally.usual(model) == nil)
        for _ in 0..<3 { tally.record(model, contextLength: 8192) }
        #expect(tally.usual(model) == 8192)
    }

    @Test func aLongerLengthServesTheRequestsThatSetNoneAsWell() {
        var tally = ContextLengthTally()
        for index in 0..<10 { tally.record(model, contextLength: index % 3 == 0 ? 8192 : nil) }
        #expect(tally.longestAsked(model) == 8192)
        // With the automatic length at 4096, a runner for 8192 serves all ten.
        #expect(tally.usual(model, automatic: 4096) == 8192)
        // Not known, or longer than 8192: the six without num_ctx win as before.
        #expect(tally.usual(model, automatic: nil) == nil)
        #expect(tally.usual(model, automatic: 32768) == nil)
        // A shorter explicit length serves only its own.
        var short = ContextLengthTally()
        for index in 0..<10 { short.record(model, contextLength: index % 3 == 0 ? 2048 : nil) }
        #expect(short.usual(model, automatic: 4096) == nil)
        #expect(ContextLengthTally().longestAsked(model) == nil)
    }

    @Test func theLengthsKeptForARestartAreTheOnesThatServeMost() {
        var tally = ContextLengthTally()
        for index in 0..<10 { tally.record(model, contextLength: index % 3 == 0 ? 8192 : nil) }
        #expect(tally.usualLengths().isEmpty)
        #expect(tally.usualLengths(automatic: [model: 4096]) == [model: 8192])
    }

    @Test func underAtLeastALengthServesEveryShorterAsk() {
        var tally = ContextLengthTally()
        for index in 0..<10 { tally.record(model, contextLength: index < 6 ? 3900 : nil) }
        // Six ask 3900, four none: the automatic 4096 serves all ten under atLeast.
        #expect(tally.usual(model, automatic: 4096) == 3900)
        #expect(tally.usual(model, automatic: 4096, atLeast: true) == nil)
        tally.record(model, contextLength: 8192)
        #expect(tally.usual(model, automatic: 4096, atLeast: true) == 8192)
    }

    @Test func aTieGoesToTheLatestAndOldRequestsFallOutOfTheWindow() {
        var tally = ContextLengthTally()
        tally.record(model, contextLength: 2048)
        tally.record(model, contextLength: 8192)
        #expect(tally.usual(model) == 8192)
        for _ in 0..<ContextLengthTally.window { tally.record(model, contextLength: 4096) }
        tally.record(model, contextLength: 2048)
        #expect(tally.usual(model) == 4096)
        for _ in 0..<(ContextLengthTally.window / 2 + 1) { tally.record(model, contextLength: 2048) }
        #expect(tally.usual(model) == 2048)
    }
}

/// What `/status` shows of a runner right after a request that it served as it was.
@Suite struct RunnerContextsShownTests {
    let model = ModelName("llama3.2")!

    @Test func aRunnerAskedWhatItServedKeepsTheLengthTheProbeShowed() {
        var contexts = RunnerContexts()
        contexts.reported(model, contextLength: 4096, sentAt: 1)
        contexts.asked(model, contextLength: nil, now: 2)
        #expect(contexts.contextLength(of: model) == 4096)
        // A runner asked for another length is reloaded: what the probe showed no longer holds.
        contexts.asked(model, contextLength: 8192, now: 3)
        #expect(contexts.contextLength(of: model) == 8192)
        contexts.asked(model, contextLength: nil, now: 4)
        #expect(contexts.contextLength(of: model) == nil)
    }
}
