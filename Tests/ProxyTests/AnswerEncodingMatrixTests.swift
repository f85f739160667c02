import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Every endpoint through TensorWall against nodes that write valid JSON in other layouts than
/// Go's (spaced, pretty, reordered, unicode-escaped, CRLF, a byte per chunk): streams must end
/// cleanly with usage counted and no ejection, and whole answers must come through intact.
@Suite(.stopsFarms) struct AnswerEncodingMatrixTests {
    func sample(_ metrics: String, _ prefix: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// The JSON values of a native stream, however they are laid out.
    func values(_ body: String) throws -> [JSONValue] {
        var splitter = JSONStreamSplitter()
        var values = try splitter.values(in: Array(body.utf8)).map { try JSONParser.parse($0) }
        if let rest = splitter.remainder() { values.append(try JSONParser.parse(rest)) }
        return values
    }

    @Test(arguments: AnswerEncoding.allCases)
    func nativeStreamsEndCleanlyWithUsageCounted(encoding: AnswerEncoding) async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], encoding: encoding)]) { $0.outlier.consecutiveFailures = 1 }
        try await farm.waitUntilAllHealthy()
        for path in ["/api/chat", "/api/generate"] {
            let body =
                path == "/api/chat"
                ? #"{"model":"llama3.2","messages":[{"role":"user","content":"Hello!"}]}"# : #"{"model":"llama3.2","prompt":"Hello!"}"#
            let answer = try await farm.text("POST", path, body: body)
            #expect(answer.status == 200)
            #expect(answer.headers["Content-Type"] == "application/x-ndjson")
            let chunks = try values(answer.body)
            #expect(chunks.count == 9, "\(encoding) \(path): \(answer.body)")
            #expect(!chunks.contains { $0["error"] != nil }, "\(encoding) \(path): \(answer.body)")
            #expect(chunks.last?["done"] == true)
        }
        // A request is counted just after its last byte, so the second may not be yet.
        let requests = #"tensorwall_requests_total{key="tests",model="llama3.2",node="node0",status="200"}"#
        var metrics = ""
        #expect(
            await farm.eventually {
                metrics = (try? await farm.text("GET", "/metrics", headers: [:]).body) ?? ""
                return sample(metrics, requests) == 2
            }, "\(encoding)")
        #expect(sample(metrics, #"tensorwall_completion_tokens_total{key="tests",model="llama3.2",node="node0"}"#) == 16, "\(encoding)")
        #expect(farm.gateway.cluster.passiveHealth("node0").ejectedUntil == nil)
    }

    @Test(arguments: AnswerEncoding.allCases)
    func wholeAnswersAndListingsComeThrough(encoding: AnswerEncoding) async throws {
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2", "nomic-embed-text"], preload: ["llama3.2"], registry: ["qwen2.5"], encoding: encoding)
        ])
        try await farm.waitUntilAllHealthy()
        let chat = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"Hello!"}],"stream":false}"#)
        #expect(chat.status == 200 && chat.body["done"] == true && chat.body["eval_count"] == 8, "\(encoding): \(chat.body)")
        let embed = try await farm.json("POST", "/api/embed", body: #"{"model":"nomic-embed-text","input":["a","b"]}"#)
        #expect(embed.status == 200 && embed.body["embeddings"]?.arrayValue?.count == 2, "\(encoding): \(embed.body)")
        let show = try await farm.json("POST", "/api/show", body: #"{"model":"llama3.2"}"#)
        #expect(show.status == 200 && show.body["details"]?["family"] == "llama", "\(encoding): \(show.body)")
        let tags = try await farm.json("GET", "/api/tags")
        #expect(tags.body["models"]?.arrayValue?.count == 2, "\(encoding): \(tags.body)")
        let ps = try await farm.json("GET", "/api/ps")
        #expect(ps.body["models"]?.arrayValue?.contains { $0["name"] == "llama3.2:latest" } == true, "\(encoding): \(ps.body)")
        let pull = try await farm.text("POST", "/api/pull", body: #"{"model":"qwen2.5"}"#)
        let progress = try values(pull.body)
        #expect(progress.last?["status"] == "success", "\(encoding): \(pull.body)")
        #expect(!progress.contains { $0["error"] != nil })
    }

    @Test(arguments: AnswerEncoding.allCases)
    func openAIAnswersAreTranslatedWhole(encoding: AnswerEncoding) async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], encoding: encoding)])
        try await farm.waitUntilAllHealthy()
        let whole = try await farm.chat()
        #expect(whole.status == 200)
        #expect(whole.body["usage"]?["completion_tokens"] == 8, "\(encoding): \(whole.body)")
        #expect(whole.body["choices"]?[0]?["finish_reason"] == "stop")

        let response = try await farm.request(
            "POST", "/v1/chat/completions",
            body:
                #"{"model":"llama3.2","messages":[{"role":"user","content":"Hello!"}],"stream":true,"stream_options":{"include_usage":true}}"#
        )
        var reader = EventReader(response)
        var events: [String] = []
        while let event = try await reader.next() { events.append(event) }
        #expect(events.last == "[DONE]", "\(encoding): \(events)")
        #expect(!events.contains { $0.contains("\"error\"") }, "\(encoding): \(events)")
        let content = try events.dropLast().compactMap { try JSONParser.parse($0)["choices"]?[0]?["delta"]?["content"]?.stringValue }
        #expect(content.count == 8)
        let usage = try JSONParser.parse(try #require(events.dropLast().last))["usage"]
        #expect(usage?["completion_tokens"] == 8)
        let embeddings = try await farm.json("POST", "/v1/embeddings", body: #"{"model":"llama3.2","input":"hi"}"#)
        #expect(embeddings.body["data"]?[0]?["embedding"]?.arrayValue?.isEmpty == false, "\(encoding): \(embeddings.body)")
    }
}
