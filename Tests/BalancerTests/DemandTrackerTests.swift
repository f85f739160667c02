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

@Suite struct WaitCalibrationTests {
    let model = ModelName("llama3.2")!

    @Test func learnsHowOptimisticPredictionsWereAndNeverGoesBelowOne() {
        var calibration = WaitCalibration()
        #expect(calibration.factor(model) == 1)
        calibration.record(model, predicted: 10, actual: 30)  // waited three times as long
        #expect(calibration.factor(model) == 3)
        calibration.record(model, predicted: 10, actual: 0.5)  // a slot freed at once: teaches nothing
        #expect(calibration.factor(model) == 3)
        for _ in 0..<40 { calibration.record(model, predicted: 10, actual: 8) }  // quicker than predicted
        #expect(abs(calibration.factor(model) - 1) < 0.01)
        calibration.record(model, predicted: 1, actual: 500)
        #expect(calibration.factor(model) <= 10)
    }
}
