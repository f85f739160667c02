import APITranslation
import Balancer
import Testing

@Suite struct CompletionIDTests {
    @Test func idsAreThePrefixAndTwentyFourLettersOrDigits() {
        var random = FastRandom(seed: 7)
        for _ in 0..<100 {
            let id = ChatResponseTranslation.makeID(using: &random)
            #expect(id.hasPrefix("chatcmpl-"))
            let suffix = id.dropFirst("chatcmpl-".count)
            #expect(suffix.count == 24)
            #expect(suffix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
    }

    /// Every position draws from the whole alphabet: an id whose later characters ran out of random
    /// bits would repeat one letter there and collide far more often than 62^24 suggests.
    @Test func everyPositionVariesOverTheWholeAlphabet() {
        var random = FastRandom(seed: 42)
        var seen = Array(repeating: Set<Character>(), count: 24)
        var ids = Set<String>()
        for _ in 0..<2_000 {
            let id = ChatResponseTranslation.makeID(prefix: "", using: &random)
            ids.insert(id)
            for (position, character) in id.enumerated() { seen[position].insert(character) }
        }
        #expect(ids.count == 2_000)
        for (position, characters) in seen.enumerated() {
            #expect(characters.count == 62, "position \(position) saw \(characters.count) characters")
        }
    }
}
