import Foundation
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

    /// Poisson arrivals at `rate` from `start` to `end`, recorded; returns the rate read every 10 s.
    static func readings(_ tracker: inout DemandTracker, _ model: ModelName, rate: Double, from start: Double, to end: Double, seed: UInt64)
        -> [(at: Double, rate: Double)]
    {
        var random = FastRandom(seed: seed)
        var now = start
        var nextReading = start
        var readings: [(at: Double, rate: Double)] = []
        while now < end {
            let gap = -log(1 - Double(random.next() >> 11) / Double(1 << 53)) / rate
            while nextReading < min(now + gap, end) {
                readings.append((nextReading, tracker.rate(model, now: nextReading)))
                nextReading += 10
            }
            now += gap
            if now < end { tracker.record(model, now: now) }
        }
        return readings
    }

    @Test func aSteadyPoissonStreamReadsSteadilyEnoughToPlanOn() {
        // A model asked for 0.2/s: a single 45 s average is off by over a quarter in 25-32 % of
        // readings, which is what made the planner swap copies back and forth.
        for seed in UInt64(1)...5 {
            var tracker = DemandTracker()
            let steady = Self.readings(&tracker, model, rate: 0.2, from: 0, to: 3600, seed: seed).filter { $0.at >= 600 }
            let off = steady.filter { abs($0.rate - 0.2) > 0.05 }.count
            #expect(Double(off) / Double(steady.count) < 0.1, "seed \(seed): \(off) of \(steady.count) readings off by over 25 %")
        }
    }

    @Test func aPoissonStreamThatJumpsOrStopsIsFollowedWithinAMinute() {
        var tracker = DemandTracker()
        _ = Self.readings(&tracker, model, rate: 0.1, from: 0, to: 900, seed: 3)
        // The slow average alone would read 0.36/s a minute after the jump, and 0.54/s after two.
        let risen = Self.readings(&tracker, model, rate: 1.0, from: 900, to: 1020, seed: 4)
        #expect(risen.first { $0.at >= 960 }!.rate > 0.45, "\(risen.map(\.rate))")
        #expect(risen.last!.rate > 0.7, "\(risen.map(\.rate))")
        // Then nobody asks for it any more.
        #expect(tracker.rate(model, now: 1080) < 0.35)
        #expect(tracker.rate(model, now: 1140) < 0.15)
    }

    @Test func aTenfoldStepIsReadWithinHalfAMinute() {
        // A popularity shift: a model asked for 0.05/s becomes the hot one at 0.5/s. Both decayed
        // averages read under 0.3/s for over a minute after it; counting arrivals finds the step.
        for seed in UInt64(1)...5 {
            var tracker = DemandTracker()
            _ = Self.readings(&tracker, model, rate: 0.05, from: 0, to: 900, seed: seed)
            let risen = Self.readings(&tracker, model, rate: 0.5, from: 900, to: 1020, seed: seed + 100)
            #expect(risen.filter { $0.at >= 930 }.allSatisfy { $0.rate > 0.3 }, "seed \(seed): \(risen.map(\.rate))")
            #expect(risen.filter { $0.at >= 960 }.allSatisfy { $0.rate < 0.8 }, "seed \(seed): \(risen.map(\.rate))")
        }
    }

    @Test func aBurstIsReadWithCautionUntilItLasts() {
        // A model asked for 0.3/s gets 17 requests in 10 s: 1.8/s at face value, past what one copy
        // serves (1.5/s at 1.3 s a request). After a shift the planner unloaded a copy of the hottest
        // model for such a burst, and the model settled at 0.7/s.
        var tracker = DemandTracker()
        _ = Self.readings(&tracker, model, rate: 0.3, from: 0, to: 300, seed: 7)
        for index in 0..<17 { tracker.record(model, now: 300 + Double(index) * 10 / 17) }
        _ = tracker.rates(now: 310)
        #expect(tracker.rate(model, now: 310) > 1.5)
        let cautious = tracker.cautiousRate(model, now: 310)
        #expect(cautious > 0.3 && cautious < 1.2, "\(cautious)")
        // The same pace held for 35 s is a level, and both readings say so.
        var held = DemandTracker()
        _ = Self.readings(&held, model, rate: 0.3, from: 0, to: 300, seed: 7)
        for index in 0..<60 { held.record(model, now: 300 + Double(index) * 35 / 60) }
        _ = held.rates(now: 335)
        #expect(abs(held.cautiousRate(model, now: 335) - held.rate(model, now: 335)) < 1e-9)
        #expect(held.rate(model, now: 335) > 1.4)
    }

    @Test func theRateAfterAStepIsCountedSinceTheStepNotSmoothedFromItsFirstReading() {
        // A step is found on its first few arrivals, so the first reading of the new level is rough
        // (1.4/s for a model gone from 0.2 to 2.1/s). Averages restarted from that reading kept it
        // for minutes; counting the arrivals since the step reads the new level within a minute.
        for seed in UInt64(1)...5 {
            var tracker = DemandTracker()
            _ = Self.readings(&tracker, model, rate: 0.2, from: 0, to: 900, seed: seed)
            let risen = Self.readings(&tracker, model, rate: 2.1, from: 900, to: 1200, seed: seed + 100)
            let late = risen.filter { $0.at >= 960 }
            #expect(late.allSatisfy { abs($0.rate - 2.1) < 0.45 }, "seed \(seed): \(risen.map(\.rate))")
        }
    }

    @Test func aStepIsDatedToTheSecondNotToTheNearestCandidate() {
        // 0.25/s for 200 s, then 2.5/s: 6 s later the nearest candidate (10 s back) counts 4 s of the
        // old level into the new rate and reads 1.7/s.
        var history = ArrivalHistory(since: 0)
        for index in 0..<50 { history.record(Double(index) * 4) }
        for index in 0..<15 { history.record(200 + Double(index) * 0.4) }
        let step = history.step(now: 206)
        #expect(step.map { abs($0.at - 200) <= 1 } ?? false, "\(String(describing: step))")
        #expect(step.map { $0.rate > 2.2 && $0.rate < 3.2 } ?? false, "\(String(describing: step))")
    }

    @Test func aHotModelThatFallsQuietIsReadLowWithinHalfAMinute() {
        for seed in UInt64(1)...5 {
            var tracker = DemandTracker()
            _ = Self.readings(&tracker, model, rate: 0.75, from: 0, to: 900, seed: seed)
            let fallen = Self.readings(&tracker, model, rate: 0.05, from: 900, to: 1020, seed: seed + 100)
            #expect(fallen.filter { $0.at >= 930 }.allSatisfy { $0.rate < 0.3 }, "seed \(seed): \(fallen.map(\.rate))")
        }
    }

    @Test func aModelThatFellQuietStaysLowOnceTheQuietOutlastsTheWindow() {
        var tracker = DemandTracker()
        _ = Self.readings(&tracker, model, rate: 0.75, from: 0, to: 900, seed: 1)
        var readings: [Double] = []
        for second in stride(from: 910.0, through: 1400, by: 10) { readings.append(tracker.rates(now: second)[model] ?? 0) }
        // The slow average alone would read 0.75 × e^(-500/180) ≈ 0.05/s at the end.
        #expect(readings.suffix(20).allSatisfy { $0 < 0.02 }, "\(readings)")
    }

    @Test func aSteadyStreamRarelyShowsAStep() {
        // Follow-up turns bunch arrivals; a false step now and then costs little, one a minute would churn.
        var steps = 0
        var readings = 0
        for seed in UInt64(1)...5 {
            var history = ArrivalHistory(since: 0)
            var random = FastRandom(seed: seed)
            var now = 0.0
            var nextReading = 400.0
            while now < 4000 {
                now += -log(1 - Double(random.next() >> 11) / Double(1 << 53)) / 0.3
                history.record(now)
                while nextReading < now {
                    readings += 1
                    if history.step(now: nextReading) != nil { steps += 1 }
                    nextReading += 5
                }
            }
        }
        #expect(Double(steps) / Double(readings) < 0.01, "\(steps) steps in \(readings) readings")
    }

    /// Arrivals every `1 / rate` seconds from `start` to `end`, with the planner's reading of every
    /// model's rate every 5 s in between (that is where a quiet model's step is found).
    static func evenArrivals(_ tracker: inout DemandTracker, _ model: ModelName, rate: Double, from start: Double, to end: Double) {
        var now = start
        var nextRound = start
        while now < end {
            while nextRound < now {
                _ = tracker.rates(now: nextRound)
                nextRound += 5
            }
            tracker.record(model, now: now)
            now += 1 / rate
        }
    }

    @Test func aModelWhoseDemandDoubledIsReadSoonerWhenAnotherModelSteppedThen() {
        // The placement benchmark's shift: `qwen2.5:7b` went from 0.3 to 0.67 requests/s as the hot
        // model fell quiet, and its step showed 100 s later. 35 s after the shift its own arrivals
        // do not clear the bar of a search over the window, and the averages still read 0.37/s.
        let hot = ModelName("llama3.2:3b")!
        let rising = ModelName("qwen2.5:7b")!
        func readingAfterShift(hotFalls: Bool) -> Double {
            var tracker = DemandTracker()
            var now = 0.0
            while now < 335 {
                if now < 300 || !hotFalls || now.truncatingRemainder(dividingBy: 20) < 0.1 { tracker.record(hot, now: now) }
                if (now < 300 ? now.truncatingRemainder(dividingBy: 10 / 3.0) : (now - 300).truncatingRemainder(dividingBy: 1.5)) < 0.1 {
                    tracker.record(rising, now: now)
                }
                if now.truncatingRemainder(dividingBy: 5) < 0.1 { _ = tracker.rates(now: now) }
                now += 0.1
            }
            return tracker.rate(rising, now: 335)
        }
        let alone = readingAfterShift(hotFalls: false)
        #expect(alone < 0.45, "\(alone)")
        let beside = readingAfterShift(hotFalls: true)
        #expect(beside > 0.55 && beside < 0.8, "\(beside)")
    }

    @Test func aRiseFoundAtAnotherModelsEarlierStepIsCountedFromWhenItBegan() {
        // On a Python-written farm's shift, a burst of `qwen2.5:7b` follow-ups 20 s before the shift
        // was the first step found. `codellama:13b`, rising from 0.23 to 2.2 requests/s at the shift,
        // cleared the shared bar at that moment before its own arrivals cleared theirs, and counted
        // from it read 1.0-1.2/s for 20 s. The same shape, evenly spaced: the burst's step is found
        // at 161, and the rise is read from about 180.
        let early = ModelName("qwen2.5:7b")!
        let rising = ModelName("codellama:13b")!
        var tracker = DemandTracker()
        var earlyAt = 0.0
        var risingAt = 1.0
        var readings: [(at: Double, rate: Double)] = []
        for round in stride(from: 2.0, through: 215, by: 2) {
            while earlyAt < round {
                tracker.record(early, now: earlyAt)
                earlyAt += earlyAt < 160 ? 3.3 : earlyAt < 180 ? 0.66 : 2.2  // 0.3/s, a burst, 0.45/s
            }
            while risingAt < round {
                tracker.record(rising, now: risingAt)
                risingAt += risingAt < 160 ? 4.3 : risingAt < 180 ? 2.9 : 0.45  // 0.23/s, a little more, 2.2/s
            }
            _ = tracker.rates(now: round)
            if round > 180 { readings.append((round, tracker.rate(rising, now: round))) }
        }
        #expect(tracker.measuredSince(early).map { $0 > 155 && $0 < 170 } == true, "\(String(describing: tracker.measuredSince(early)))")
        // Its own step shows at 192; until then, counted from the burst, it read 0.7-1.0/s.
        let shown = readings.map { String(format: "%.0f:%.2f", $0.at, $0.rate) }
        #expect(readings.filter { $0.at >= 186 }.allSatisfy { $0.rate > 1.8 && $0.rate < 2.6 }, "\(shown)")
    }

    @Test func aBurstWithinANewLevelIsNotReadAsALaterRise() {
        // After a shift on the Python farm `codellama:13b` rose from 0.3 to 2.1 requests/s and its
        // own step was found at once. 36 s later 22 of its requests came within 6 s (conversations'
        // follow-ups bunched together). Read as a rise that began later than the step, the burst
        // moved the step: the model read 3.9/s, and the planner took `gemma2:9b`'s new second copy
        // for a fourth copy of it. A later rise re-dates a step only if the demand before it stayed
        // near the level before the step: the step's moment came before this model's demand moved.
        let model = ModelName("codellama:13b")!
        var tracker = DemandTracker()
        var at = 1.0
        var readings: [(at: Double, rate: Double)] = []
        for round in stride(from: 2.0, through: 260, by: 2) {
            while at < round {
                tracker.record(model, now: at)
                at += at < 180 ? 3.3 : at >= 216 && at < 222 ? 0.22 : 0.5  // 0.3/s, then 2/s with a burst of 4.5/s
            }
            _ = tracker.rates(now: round)
            if round >= 190 { readings.append((round, tracker.rate(model, now: round))) }
        }
        // Re-dated to the burst, it read 4.55/s at 222 and over 2.6/s until 242.
        let shown = readings.map { String(format: "%.0f:%.2f", $0.at, $0.rate) }
        #expect(readings.allSatisfy { $0.rate > 1.8 && $0.rate < 2.6 }, "\(shown)")
        #expect(tracker.measuredSince(model).map { $0 > 175 && $0 < 185 } == true, "\(String(describing: tracker.measuredSince(model)))")
    }

    @Test func aFallIsNotReadFromAnotherModelsStep() {
        // A fall found this way would be read as counted since the moment, and the moment is taken
        // where the count is furthest from the level: `mistral:7b`, gone from 0.35 to 0.27/s, read
        // 0.12-0.17/s for a minute and a half. Its own arrivals still show a fall in time.
        let hot = ModelName("llama3.2:3b")!
        let falling = ModelName("mistral:7b")!
        var tracker = DemandTracker()
        var now = 0.0
        while now < 360 {
            if now < 300 && now.truncatingRemainder(dividingBy: 1) < 0.05 { tracker.record(hot, now: now) }
            let gap = now < 300 ? 1 / 0.6 : 1 / 0.3
            if (now < 300 ? now : now - 300).truncatingRemainder(dividingBy: gap) < 0.05 { tracker.record(falling, now: now) }
            if now.truncatingRemainder(dividingBy: 5) < 0.05 { _ = tracker.rates(now: now) }
            now += 0.05
        }
        #expect(tracker.measuredSince(hot).map { $0 >= 295 } == true)
        #expect(tracker.measuredSince(falling).map { $0 < 290 } == true, "\(String(describing: tracker.measuredSince(falling)))")
    }

    @Test func aSteadyModelRarelyStepsWhenAnotherModelDoes() {
        // A shared step is tested at one moment against a lower bar; a model whose demand held should
        // seldom clear it, and then its reading is the rate since the moment, which is the same level.
        let hot = ModelName("llama3.2:3b")!
        var moved = 0
        for seed in UInt64(1)...20 {
            var tracker = DemandTracker()
            var random = FastRandom(seed: seed)
            var arrival = 0.0
            var readings: [(at: Double, rate: Double)] = []
            for tick in 0..<4800 {
                let now = Double(tick) / 10
                if now < 300 && tick % 10 == 0 { tracker.record(hot, now: now) }  // 1/s, then quiet
                while arrival < now + 0.1 {
                    tracker.record(model, now: arrival)
                    arrival += -log(1 - Double(random.next() >> 11) / Double(1 << 53)) / 0.3
                }
                if tick % 50 == 0 {
                    _ = tracker.rates(now: now)
                    readings.append((now, tracker.rate(model, now: now)))
                }
            }
            #expect(tracker.measuredSince(hot).map { $0 >= 295 } == true)
            if let since = tracker.measuredSince(model), since > 280 && since < 320 {
                moved += 1
                let late = readings.filter { $0.at >= 360 }.map(\.rate)
                #expect(late.allSatisfy { abs($0 - 0.3) < 0.15 }, "seed \(seed): \(late)")
            }
        }
        #expect(moved <= 2, "\(moved) of 20 steady streams stepped with the hot model")
    }

    @Test func aClientNamingANewModelEveryTimeCannotGrowTheTableWithoutBound() {
        var tracker = DemandTracker()
        for index in 0..<5000 { tracker.record(ModelName("made-up-\(index)")!, now: Double(index) / 100) }
        tracker.record(model, now: 50)
        #expect(tracker.trackedModels <= DemandTracker.maximumModels)
        #expect(tracker.rate(model, now: 50) > 0)
    }

    @Test func aSavedRateStartsWarm() {
        var tracker = DemandTracker()
        tracker.seed(model, rate: 0.7, now: 100)
        #expect(abs(tracker.rate(model, now: 100) - 0.7) < 0.01)
        #expect(tracker.rates(now: 100)[model] != nil)
        // A saved rate counts as a long run's: last copies are ranked by it at once.
        #expect(tracker.measuredSeconds(now: 100) >= AffinityPlacement.sparingEvidenceSeconds)
    }

    @Test func demandIsMeasuredFromTheFirstRequest() {
        var tracker = DemandTracker()
        #expect(tracker.measuredSeconds(now: 50) == 0)
        tracker.record(model, now: 100)
        tracker.record(model, now: 120)
        // As if the first request came after one quiet second.
        #expect(tracker.measuredSeconds(now: 130) == 31)
    }
}

@Suite struct WaitCalibrationTests {
    let model = ModelName("llama3.2")!

    @Test func learnsHowOptimisticPredictionsWereAndNeverGoesBelowOne() {
        var calibration = WaitCalibration()
        #expect(calibration.factor(model, warmSlots: 4) == 1)
        calibration.record(model, predicted: 10, actual: 30, warmSlots: 4, teachingFrom: 2)  // waited three times as long
        #expect(calibration.factor(model, warmSlots: 4) == 3)
        for _ in 0..<40 { calibration.record(model, predicted: 10, actual: 8, warmSlots: 4, teachingFrom: 2) }  // quicker than predicted
        #expect(abs(calibration.factor(model, warmSlots: 4) - 1) < 0.01)
        calibration.record(model, predicted: 2, actual: 500, warmSlots: 4, teachingFrom: 2)
        #expect(calibration.factor(model, warmSlots: 4) <= 10)
    }

    /// Keeping only the waits that lasted (as the first calibration did) keeps the unlucky ones: a
    /// short prediction teaches nothing however it turns out, a long one teaches however short it was.
    @Test func theLengthOfThePredictionChoosesWhatTeachesNotTheOutcome() {
        var calibration = WaitCalibration()
        calibration.record(model, predicted: 0.7, actual: 4, warmSlots: 2, teachingFrom: 2)
        #expect(calibration.factor(model, warmSlots: 2) == 1)
        calibration.record(model, predicted: 12, actual: 0.4, warmSlots: 2, teachingFrom: 2)
        calibration.record(model, predicted: 12, actual: 30, warmSlots: 2, teachingFrom: 2)
        #expect(abs(calibration.factor(model, warmSlots: 2) - 30.32 / 21.6) < 0.001)  // 0.8 × 0.4 + 30 over 0.8 × 12 + 12
    }

    /// A factor learned on two copies said nothing of three: requests were refused at 24 s while a
    /// third copy came in and answered them in 12.
    @Test func aFactorBelongsToTheWarmSlotsItWasLearnedOn() {
        var calibration = WaitCalibration()
        calibration.record(model, predicted: 10, actual: 20, warmSlots: 4, teachingFrom: 2)
        #expect(calibration.factor(model, warmSlots: 4) == 2)
        #expect(calibration.factor(model, warmSlots: 6) == 1)
        calibration.record(model, predicted: 10, actual: 15, warmSlots: 6, teachingFrom: 2)  // learned anew on six
        #expect(calibration.factor(model, warmSlots: 6) == 1.5)
        #expect(calibration.factor(model, warmSlots: 4) == 1)
    }
}
