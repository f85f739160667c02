import Testing

@testable import Balancer

/// Steps in a node's pace, read from runs of answers rather than one answer in twenty.
@Suite struct PaceShiftTests {
    let llama = ModelName("llama3.2")!
    let phi = ModelName("phi3")!

    @Test func aRunOfAnswersOnOneSideIsAStepByItsMedian() {
        var shift = PaceShift()
        for ratio in [3.8, 4.1, 4.0, 3.9, 4.4] { #expect(shift.observe(ratio: ratio) == nil) }
        #expect(shift.observe(ratio: 4.2) == 4.05)
        // A faster run the other way.
        for ratio in [0.3, 0.25, 0.2, 0.3, 0.26] { #expect(shift.observe(ratio: ratio) == nil) }
        #expect(abs((shift.observe(ratio: 0.24) ?? 0) - 0.255) < 1e-9)
    }

    /// One answer near the average, or one on the other side, starts the run again.
    @Test func anAnswerOffTheRunStartsItAgain() {
        var shift = PaceShift()
        for ratio in [3.0, 3.0, 3.0, 3.0, 3.0, 1.2] { #expect(shift.observe(ratio: ratio) == nil) }
        for ratio in [3.0, 3.0, 3.0, 3.0, 3.0, 0.4] { #expect(shift.observe(ratio: ratio) == nil) }
        for ratio in [3.0, 3.0, 3.0, 3.0, 3.0] { #expect(shift.observe(ratio: ratio) == nil) }
        #expect(shift.observe(ratio: 3.0) == 3.0)
    }

    /// A node that slows four times, answering two models: six answers later every model's averages
    /// there read the new pace, where one answer in twenty had moved them a third of the way.
    @Test func aNodesAveragesFollowAStepInItsPaceWithinSixAnswers() {
        var times = AnswerTimes()
        func answer(_ model: ModelName, seconds: Double, at now: Double) {
            times.learn(from: RequestOutcome(succeeded: true, serviceSeconds: seconds), model: model, readyAt: 0, slots: 2, now: now)
        }
        for index in 0..<20 {
            answer(llama, seconds: 1, at: Double(index))
            answer(phi, seconds: 2, at: Double(index))
        }
        for index in 0..<3 {
            answer(llama, seconds: 4, at: 100 + Double(index))
            answer(phi, seconds: 8, at: 100 + Double(index))
        }
        let llamaAfter = times.serviceSeconds[llama] ?? 0
        let phiAfter = times.serviceSeconds[phi] ?? 0
        #expect(llamaAfter > 3.5 && llamaAfter < 4.5, "\(llamaAfter)")
        #expect(phiAfter > 7 && phiAfter < 9, "\(phiAfter)")
    }

    /// Answers of different lengths around a steady pace move nothing at once.
    @Test func answersOfMixedLengthsAreNoStep() {
        var times = AnswerTimes()
        for index in 0..<20 {
            times.learn(from: RequestOutcome(succeeded: true, serviceSeconds: 1), model: llama, readyAt: 0, slots: 2, now: Double(index))
        }
        for (index, seconds) in [3.0, 0.3, 2.5, 2.2, 0.4, 3.1, 2.4, 2.6, 1.0, 2.9].enumerated() {
            times.learn(
                from: RequestOutcome(succeeded: true, serviceSeconds: seconds), model: llama, readyAt: 0, slots: 2, now: 30 + Double(index))
        }
        let after = times.serviceSeconds[llama] ?? 0
        #expect(after > 1.2 && after < 1.9, "\(after)")
    }
}
