import Testing

@testable import Balancer

@Suite struct DemandTrackerTests {
    let model = ModelName("llama3.2")!

    @Test func aFreshStartReadsTheRateWithinSeconds() {
        var tracker = DemandTracker()
        for second in 0..<10 { tracker.record(model, now: Double(second)) }
        // Ten requests in ten seconds: about 1/s already, not the 0.15/s an uncorrected average shows.
        let rate = tracker.rate(model, now: 10)
        #expect(rate > 0.8 && rate < 1.2, "\(rate)")
    }

    @Test func aSteadyRateIsReadAndFollowsAShiftWithinTwoMinutes() {
        var tracker = DemandTracker()
        var now = 0.0
        while now < 600 {
            tracker.record(model, now: now)
            now += 2  // 0.5/s
        }
        #expect(abs(tracker.rate(model, now: now) - 0.5) < 0.05)
        let shiftedAt = now
        while now < shiftedAt + 120 {
            tracker.record(model, now: now)
            now += 0.5  // 2/s
        }
        #expect(tracker.rate(model, now: now) > 1.6)
    }

    @Test func aSavedRateStartsWarm() {
        var tracker = DemandTracker()
        tracker.seed(model, rate: 0.7, now: 100)
        #expect(abs(tracker.rate(model, now: 100) - 0.7) < 0.01)
        #expect(tracker.rates(now: 100)[model] != nil)
    }
}
