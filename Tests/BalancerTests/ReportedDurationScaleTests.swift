import Testing

@testable import Balancer

/// Putting a node's reported durations on TensorWall's clock.
@Suite struct ReportedDurationScaleTests {
    @Test func aNodeOnTheSameClockKeepsItsDurations() {
        var scale = ReportedDurationScale()
        // The network adds a little to every request, and now and then a slow client a lot.
        for observed in [1.02, 1.05, 1.01, 3.0, 1.03, 1.04] { scale.learn(observedSeconds: observed, reportedSeconds: 1) }
        #expect(scale.factor == 1)
    }

    @Test func aNodeThatReportsAFifthOfTheTimeIsScaledOnceEnoughRequestsShowIt() {
        var scale = ReportedDurationScale()
        for _ in 1..<ReportedDurationScale.samplesNeeded { scale.learn(observedSeconds: 5.1, reportedSeconds: 1) }
        #expect(scale.factor == 1)  // not yet
        scale.learn(observedSeconds: 4.9, reportedSeconds: 1)
        #expect(abs(scale.factor - 5.1) < 0.2)
        // One odd request does not move it.
        scale.learn(observedSeconds: 100, reportedSeconds: 1)
        #expect(abs(scale.factor - 5.1) < 0.2)
    }

    @Test func requestsTooShortToTellAndMissingDurationsTeachNothing() {
        var scale = ReportedDurationScale()
        for _ in 0..<10 {
            scale.learn(observedSeconds: 0.005, reportedSeconds: 0.001)
            scale.learn(observedSeconds: 2, reportedSeconds: 0)
        }
        #expect(scale.factor == 1)
    }

    /// A fast node on a busy machine: its answers take half a millisecond, but a request spends 5 to
    /// 50 ms in queues for the CPU. Read as ratios those say 10-100x; the node is on this clock.
    @Test func subMillisecondAnswersOnABusyMachineAreNotAnotherClock() {
        var scale = ReportedDurationScale()
        for observed in [0.005, 0.02, 0.03, 0.05, 0.04, 0.025, 0.03, 0.045] {
            scale.learn(observedSeconds: observed, reportedSeconds: 0.0005)
            #expect(scale.factor(forAnswerObserved: observed, reported: 0.0005) == 1)
        }
        #expect(scale.factor == 1)
        #expect(!scale.isKnown)
    }

    /// A saturated machine: every answer is long enough to count, but what the CPU queues add to each
    /// varies from answer to answer, so the ratios scatter (1.2 to 9) where another clock's would not.
    @Test func ratiosThatScatterAreNotAClock() {
        var scale = ReportedDurationScale()
        for ratio in [1.2, 6.0, 2.5, 9.0, 1.8, 4.0, 3.1, 7.5, 2.2, 5.0] {
            scale.learn(observedSeconds: 0.02 * ratio, reportedSeconds: 0.02)
        }
        #expect(scale.isKnown)
        #expect(scale.factor == 1)
    }
}
