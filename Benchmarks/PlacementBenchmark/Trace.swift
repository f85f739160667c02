import Balancer
import Foundation

/// A seeded, open-loop workload: conversations arrive as a Poisson process, each on one model
/// drawn with Zipf popularity; each answered turn is followed by another with probability
/// `followUp`, after a think time. Every strategy runs on the same trace, so differences come
/// from placement alone. Optionally the popularity ranking turns over halfway through.
struct Trace: Sendable {
    struct Request: Sendable {
        /// Simulated seconds from the start of the run.
        let at: Double
        let model: String
        /// A conversation's first turn: its long system prompt is not in Ollama's prompt cache yet.
        let isFirstTurn: Bool
        /// The tokens the answer runs to (its `max_tokens`, with `answerLengths` varied).
        let answerTokens: Int
        /// `/v1/chat/completions`, or `/api/chat` for a conversation whose client sets `num_ctx`.
        let path: String
        let body: [UInt8]
    }

    /// The `num_ctx` a conversation drawn to set one asks (`contextShare`), unless told otherwise.
    static let defaultAskedContextLength = 8192

    /// Eight models of 2-7.4 GB; the order is the popularity rank before any shift (hottest first).
    static let models: [(name: String, sizeGB: Double)] = [
        ("llama3.2:3b", 2.0), ("phi3:mini", 2.2), ("gemma2:2b", 2.6), ("mistral:7b", 4.1), ("llama3.1:8b", 4.7), ("qwen2.5:7b", 4.7),
        ("gemma2:9b", 5.4), ("codellama:13b", 7.4),
    ]

    let requests: [Request]
    /// Mean requests per second the trace was drawn for.
    let rate: Double

    /// - Parameters:
    ///   - requestsPerSecond: mean arrival rate of all requests (first turns and follow-ups), simulated.
    ///   - popularity: model indices from hottest to coldest; `shifted` replaces it halfway through.
    ///   - answerLengths: every answer `answerTokens` long, or lengths drawn around that mean.
    ///   - contextShare: the share of conversations whose client (an Ollama one, on `/api/chat`) sets
    ///     `options.num_ctx` to `contextLength`, as Open WebUI or Continue may (LlamaIndex sends 3900);
    ///     the others set none.
    init(
        seed: UInt64, seconds: Double, requestsPerSecond: Double, answer: String, answerTokens: Int, answerLengths: AnswerLengths = .fixed,
        zipf: Double, followUp: Double = 0.3, popularity: [Int], shifted: [Int]?, contextShare: Double = 0,
        contextLength: Int = Trace.defaultAskedContextLength
    ) {
        self.rate = requestsPerSecond
        var random = FastRandom(seed: seed)
        // Lengths come from a stream of their own, so a varied trace asks for the same models at the same moments.
        var lengths = FastRandom(seed: seed ^ 0x5EED_1E26)
        // And which clients set num_ctx, from another: the same conversations arrive either way.
        var clients = FastRandom(seed: seed ^ 0xC0_4E7E)
        let weights = (1...Self.models.count).map { 1 / pow(Double($0), zipf) }
        let total = weights.reduce(0, +)
        // Each conversation brings 1 / (1 - followUp) requests on average.
        let conversationsPerSecond = requestsPerSecond * (1 - followUp)
        var requests: [Request] = []
        var time = 0.0
        var conversation = 0
        while true {
            time += -log(1 - random.unit()) / conversationsPerSecond
            guard time < seconds else { break }
            conversation += 1
            var ticket = random.unit() * total
            var rank = 0
            while rank < weights.count - 1 && ticket >= weights[rank] {
                ticket -= weights[rank]
                rank += 1
            }
            let ranking = (shifted != nil && time >= seconds / 2) ? shifted! : popularity
            let model = Self.models[ranking[rank]].name
            // A long system prompt (about 1,000 tokens) makes Ollama's prompt cache matter, as it does for real apps.
            let system = "You are assistant \(conversation). " + String(repeating: "Answer carefully and cite sources. ", count: 115)
            var messages: [String] = [#"{"role":"system","content":"\#(system)"}"#]
            let setsContext = clients.unit() < contextShare
            var turnTime = time
            var turn = 0
            repeat {
                turn += 1
                messages.append(#"{"role":"user","content":"Question \#(turn) of conversation \#(conversation)"}"#)
                let tokens = answerLengths.draw(mean: answerTokens, &lengths)
                let limit = answerLengths == .fixed ? "" : #","max_tokens":\#(tokens)"#
                let path = setsContext ? "/api/chat" : "/v1/chat/completions"
                let fields =
                    setsContext
                    ? #","options":{"num_ctx":\#(contextLength)\#(answerLengths == .fixed ? "" : #","num_predict":\#(tokens)"#)}"#
                    : limit
                let body = #"{"model":"\#(model)","stream":true\#(fields),"messages":[\#(messages.joined(separator: ","))]}"#
                requests.append(
                    Request(at: turnTime, model: model, isFirstTurn: turn == 1, answerTokens: tokens, path: path, body: Array(body.utf8)))
                messages.append(#"{"role":"assistant","content":"\#(answer)"}"#)
                turnTime += 8 + random.unit() * 12
            } while random.unit() < followUp && turnTime < seconds
        }
        self.requests = requests.sorted { $0.at < $1.at }
    }
}

/// How long the trace's answers run. Real chat answers range from a word to pages; with every answer
/// the same length, a service time learned from the last few answers looks steadier than it is.
enum AnswerLengths: String, Sendable {
    /// Every answer the mean long.
    case fixed
    /// Exponentially distributed around the mean (as often shorter than 0.7x the mean as longer than
    /// 1.7x), at least 8 tokens and at most 8x the mean.
    case varied

    static func longest(mean: Int) -> Int { 8 * mean }

    func draw(mean: Int, _ random: inout FastRandom) -> Int {
        guard self == .varied else { return mean }
        let drawn = (-Double(mean) * log(1 - random.unit())).rounded()
        return Int(min(Double(Self.longest(mean: mean)), max(8, drawn)))
    }
}

extension FastRandom {
    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
