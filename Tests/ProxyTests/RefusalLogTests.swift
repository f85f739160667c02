import Testing

@testable import Balancer
@testable import Proxy

/// At overload the farm refuses hundreds of requests a second: the log gets one line per model per
/// interval, with the numbers behind it and how many more were turned away meanwhile.
@Suite struct RefusalLogTests {
    let model = ModelName("codellama:13b")!
    let basis = RefusalBasis(
        queuedAhead: 18, warmSlots: 4, copiesLoading: 1, node: "gpu2",
        start: .coldLoad(predictedLoadSeconds: 14.2, unloading: [ModelName("phi3:mini")!]), predictedWaitSeconds: 41.3, calibration: 1.4)

    @Test func oneLinePerModelPerIntervalWithTheCountBetween() {
        let log = RefusalLog()
        let refusal = PlacementFailure.overloaded(predictedWaitSeconds: 42, retryAfterSeconds: 18, basis: basis)
        let first = log.line(for: refusal, model: model, maxWaitSeconds: 30, now: 100)
        #expect(
            first
                == "farm turned away a request for codellama:13b (429 overloaded, Retry-After 18: predicted wait 42 s, over the 24 s "
                + "refusal point of the 30 s limit; 18 queued ahead for 4 warm slots (1 copy loading); best start a cold load on "
                + "gpu2 after unloading phi3:mini (load about 14 s); first token predicted in about 41.3 s (1.40× the plain "
                + "estimate, as this model's queued requests have waited))")
        for second in 1...5 { #expect(log.line(for: refusal, model: model, maxWaitSeconds: 30, now: 100 + Double(second)) == nil) }
        // Another model has its own interval.
        #expect(log.line(for: refusal, model: ModelName("phi3:mini")!, maxWaitSeconds: 30, now: 102) != nil)
        let later = log.line(for: .queueTimeout, model: model, maxWaitSeconds: 30, now: 110.5)
        #expect(
            later?.hasSuffix(
                "503 queue_timeout: waited the whole 30 s limit in the queue); 5 more turned away since the last line for this model"
            ) == true)
        // Every refusal is counted, logged or not.
        #expect(
            log.counts == [
                .init(model: model, code: "overloaded"): 6, .init(model: ModelName("phi3:mini")!, code: "overloaded"): 1,
                .init(model: model, code: "queue_timeout"): 1,
            ])
    }

    @Test func failuresThatAreNotAboutLoadAreNotLoggedHere() {
        let log = RefusalLog()
        #expect(log.line(for: .modelNotFound, model: model, maxWaitSeconds: 30, now: 0) == nil)
        #expect(log.line(for: .noHealthyNode, model: model, maxWaitSeconds: 30, now: 0) == nil)
        #expect(log.line(for: .queueFull(retryAfterSeconds: 1, basis: nil), model: model, maxWaitSeconds: 30, now: 0) == nil)
        #expect(log.line(for: .queueFull(retryAfterSeconds: 3, basis: basis), model: model, maxWaitSeconds: 30, now: 0) != nil)
        #expect(log.counts == [.init(model: model, code: "queue_full"): 1])
    }
}
