import Balancer
import Foundation

/// A seeded, open-loop workload: conversations arrive as a Poisson process, each on one model
/// drawn with Zipf popularity, with one to four turns spaced by think time. Every strategy is run
/// on the same trace, so differences come from placement alone.
struct Trace: Sendable {
    struct Request: Sendable {
        /// Simulated seconds from the start of the run.
        let at: Double
        let model: String
        let body: [UInt8]
    }

    static let models: [(name: String, sizeGB: Double)] = [
        ("llama3.2:3b", 2.0), ("phi3:mini", 2.2), ("mistral:7b", 4.1), ("llama3.1:8b", 4.7), ("qwen2.5:7b", 4.7), ("gemma2:9b", 5.4),
        ("codellama:13b", 7.4), ("mixtral:8x7b-q2", 9.0),
    ]

    let requests: [Request]

    /// - Parameters:
    ///   - seconds: simulated length of the arrival window.
    ///   - conversationsPerSecond: arrival rate of new conversations (simulated).
    ///   - answer: the text the simulated node answers with, so later turns carry it as the real client would.
    init(seed: UInt64, seconds: Double, conversationsPerSecond: Double, answer: String, zipf: Double = 1.1) {
        var random = FastRandom(seed: seed)
        let weights = (1...Self.models.count).map { 1 / pow(Double($0), zipf) }
        let total = weights.reduce(0, +)
        var requests: [Request] = []
        var time = 0.0
        var conversation = 0
        while true {
            time += -log(1 - random.unit()) / conversationsPerSecond
            guard time < seconds else { break }
            conversation += 1
            var ticket = random.unit() * total
            var modelIndex = 0
            while modelIndex < weights.count - 1 && ticket >= weights[modelIndex] {
                ticket -= weights[modelIndex]
                modelIndex += 1
            }
            let model = Self.models[modelIndex].name
            // A long system prompt (about 1,000 tokens) makes Ollama's prompt cache matter, as it does for real apps.
            let system = "You are assistant \(conversation). " + String(repeating: "Answer carefully and cite sources. ", count: 115)
            var messages: [String] = [#"{"role":"system","content":"\#(system)"}"#]
            var turnTime = time
            for turn in 0..<(1 + Int(random.unit() * 4)) {
                messages.append(#"{"role":"user","content":"Question \#(turn + 1) of conversation \#(conversation)"}"#)
                let body = #"{"model":"\#(model)","stream":true,"messages":[\#(messages.joined(separator: ","))]}"#
                requests.append(Request(at: turnTime, model: model, body: Array(body.utf8)))
                messages.append(#"{"role":"assistant","content":"\#(answer)"}"#)
                turnTime += 8 + random.unit() * 12
            }
        }
        self.requests = requests.sorted { $0.at < $1.at }
    }
}

extension FastRandom {
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
