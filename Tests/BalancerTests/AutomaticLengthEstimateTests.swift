import Testing

@testable import Balancer

/// A model's automatic length worked out from the node's default (`ModelContextFacts`,
/// `AutomaticLengthEstimate`).
@Suite struct AutomaticLengthEstimateTests {
    let plain = ModelContextFacts(modelfileLength: nil, trainedLength: 131_072)

    @Test func theModelfileLengthWinsCappedAtTheTrainedOne() {
        #expect(ModelContextFacts(modelfileLength: 32768, trainedLength: 131_072).automaticLength(nodeDefault: 4096) == 32768)
        #expect(ModelContextFacts(modelfileLength: 32768, trainedLength: 8192).automaticLength(nodeDefault: nil) == 8192)
        #expect(plain.automaticLength(nodeDefault: 4096) == 4096)
        #expect(ModelContextFacts(modelfileLength: nil, trainedLength: 2048).automaticLength(nodeDefault: 4096) == 2048)
        #expect(plain.automaticLength(nodeDefault: nil) == nil)
    }

    @Test func onlyAnUncappedRunnerOfAModelWithoutAModelfileLengthShowsTheDefault() {
        #expect(plain.nodeDefault(observed: 4096) == 4096)
        // At its trained length it may have been capped: the default is at least that, no more is known.
        #expect(ModelContextFacts(modelfileLength: nil, trainedLength: 8192).nodeDefault(observed: 8192) == nil)
        #expect(ModelContextFacts(modelfileLength: 16384, trainedLength: 131_072).nodeDefault(observed: 16384) == nil)
        #expect(ModelContextFacts(modelfileLength: nil, trainedLength: nil).nodeDefault(observed: 4096) == nil)
    }

    @Test func runnersMustAgreeOnTheDefault() {
        let facts = ["a": plain, "b": plain, "capped": ModelContextFacts(modelfileLength: nil, trainedLength: 8192)]
        func runners(_ list: [(String, Int)]) -> [(key: String, length: Int)] { list.map { (key: $0.0, length: $0.1) } }
        #expect(AutomaticLengthEstimate(observed: runners([]), factsByKey: facts) == .unknown)
        let agreed = AutomaticLengthEstimate(observed: runners([("a", 4096), ("capped", 8192), ("undescribed", 2048)]), factsByKey: facts)
        #expect(agreed == .agreed(4096))
        let split = AutomaticLengthEstimate(observed: runners([("a", 4096), ("b", 32768)]), factsByKey: facts)
        #expect(split == .inDoubt)
        #expect(split.nodeDefault == nil)
    }
}
