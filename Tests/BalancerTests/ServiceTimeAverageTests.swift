import Testing

@testable import Balancer

@Suite struct ServiceTimeAverageTests {
    @Test func theFirstAnswersAreAveragedPlainly() {
        var average = ServiceTimeAverage()
        average.learn(4)
        #expect(average.seconds == 4)
        average.learn(2)
        average.learn(3)
        #expect(abs(average.seconds - 3) < 1e-12)
    }

    @Test func aFewSlowAnswersMoveASteadyAverageLittle() {
        var average = ServiceTimeAverage()
        for _ in 0..<100 { average.learn(1.5) }
        // Five answers at 2.6 s, a slow host's few seconds: weighted 0.3 each they read 2.35 s.
        for _ in 0..<5 { average.learn(2.6) }
        #expect(average.seconds < 1.8)
    }

    @Test func aLastingChangeIsFollowedWithinAFewDozenAnswers() {
        var average = ServiceTimeAverage()
        for _ in 0..<100 { average.learn(1) }
        for _ in 0..<60 { average.learn(3) }
        #expect(average.seconds > 2.9)
    }

    @Test func answersOfDifferentLengthsReadNearTheirMean() {
        // Answers alternating 0.5 s and 2.5 s (mean 1.5 s): weighted 0.3 each, the reading swung
        // between 1.0 and 2.0 s with every answer.
        var average = ServiceTimeAverage()
        var readings: [Double] = []
        for index in 0..<200 {
            average.learn(index.isMultiple(of: 2) ? 0.5 : 2.5)
            if index >= 100 { readings.append(average.seconds) }
        }
        #expect(readings.allSatisfy { abs($0 - 1.5) < 0.1 })
    }
}
