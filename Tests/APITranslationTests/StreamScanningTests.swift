import APITranslation
import Balancer
import Testing
import WireFormats

/// The relay's reading of upstream answers: value boundaries, final/error chunks and usage must
/// come out the same whatever valid JSON layout and chunking the upstream uses.
@Suite struct StreamScanningTests {
    static let final =
        #"{"model":"m","created_at":"2024-08-04T19:22:45Z","message":{"role":"assistant","content":"}{\"x"},"done":true,"done_reason":"stop","total_duration":5,"load_duration":7000000000,"prompt_eval_count":26,"eval_count":290}"#

    /// The same stream laid out the ways other servers write it.
    static let layouts: [(name: String, bytes: String)] = [
        ("go", #"{"message":{"content":"a"},"done":false}"# + "\n" + final + "\n"),
        (
            "spaced",
            #"{"message": {"content": "a"}, "done": false}"# + "\n"
                + #"{"done": true, "prompt_eval_count": 26, "eval_count": 290, "load_duration": 7000000000}"# + "\n"
        ),
        (
            "reordered",
            #"{"done":false,"message":{"content":"a"}}"# + "\n"
                + #"{"eval_count":290,"load_duration":7000000000,"prompt_eval_count":26,"done":true}"# + "\n"
        ),
        (
            "escaped keys",
            #"{"\u0064one":false}"# + "\n"
                + #"{"\u0064\u006f\u006e\u0065":true,"prompt_eval_\u0063ount":26,"eval_count":290,"load_duration":7000000000}"# + "\n"
        ),
        (
            "crlf and blank lines",
            #"{"done":false}"# + "\r\n\r\n" + #"{"done":true,"prompt_eval_count":26,"eval_count":290,"load_duration":7000000000}"# + "\r\n"
        ),
        (
            "pretty",
            "{\n  \"done\": false\n}\n{\n  \"done\" : true,\n  \"prompt_eval_count\": 26,\n  \"eval_count\":\t290,\n  \"load_duration\": 7000000000\n}\n"
        ),
        (
            "no final newline",
            #"{"done":false}"# + "\n" + #"{"done":true,"prompt_eval_count":26,"eval_count":290,"load_duration":7000000000}"#
        ),
        ("two on one line", #"{"done":false}{"done":true,"prompt_eval_count":26,"eval_count":290,"load_duration":7000000000}"#),
    ]

    /// Splits at every possible single boundary and also byte by byte.
    static func chunkings(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var result: [[[UInt8]]] = [[bytes], bytes.map { [$0] }]
        for cut in 1..<bytes.count { result.append([Array(bytes[..<cut]), Array(bytes[cut...])]) }
        return result
    }

    static func facts(of pieces: [[UInt8]]) throws -> [StreamChunkFacts] {
        var splitter = JSONStreamSplitter()
        var facts: [StreamChunkFacts] = []
        for piece in pieces { for value in try splitter.values(in: piece) { facts.append(try StreamChunkFacts.read(value)) } }
        if let rest = splitter.remainder() { facts.append(try StreamChunkFacts.read(rest)) }
        return facts
    }

    @Test(arguments: layouts.map(\.name))
    func everyLayoutAndChunkingGivesTheSameFacts(layout: String) throws {
        let bytes = Array(Self.layouts.first { $0.name == layout }!.bytes.utf8)
        for pieces in Self.chunkings(bytes) {
            let facts = try Self.facts(of: pieces)
            #expect(facts.count == 2, "\(layout): \(pieces.map { String(decoding: $0, as: UTF8.self) })")
            #expect(facts.first?.isFinal == false)
            #expect(facts.last?.isFinal == true)
            #expect(facts.last?.promptEvalCount == 26)
            #expect(facts.last?.evalCount == 290)
            #expect(facts.last?.loadDuration == 7_000_000_000)
        }
    }

    @Test func theWaitForASlotIsWhatTheTotalLeavesAfterLoadPromptAndGeneration() throws {
        let text =
            #"{"eval_duration":2000000000,"done":true,"total_duration":4500000000,"prompt_eval_duration":500000000,"load_duration":1000000000}"#
        let facts = try StreamChunkFacts.read(Array(text.utf8)[...])
        #expect(facts.slotWaitSeconds == 1.0)
        #expect(StreamChunkFacts(try JSONParser.parse(Array(text.utf8))).slotWaitSeconds == 1.0)
        // Without the runner's own timings nothing is known.
        #expect(try StreamChunkFacts.read(Array(#"{"done":true,"total_duration":4500000000}"#.utf8)[...]).slotWaitSeconds == nil)
    }

    @Test func bracesAndQuotesInsideStringsDoNotEndAValue() throws {
        let facts = try Self.facts(of: [Array(Self.final.utf8)])
        #expect(facts.count == 1)
        #expect(facts[0].isFinal)
        #expect(facts[0].evalCount == 290)
    }

    @Test func anErrorChunkIsSeenInAnyLayout() throws {
        for text in [
            #"{"error":"model runner has unexpectedly stopped"}"#, #"{ "error" : "model runner has unexpectedly stopped" }"#,
            #"{"\u0065rror":"model runner has unexpectedly stopped"}"#,
        ] {
            let facts = try StreamChunkFacts.read(Array(text.utf8)[...])
            #expect(facts.errorMessage == "model runner has unexpectedly stopped", "\(text)")
            #expect(!facts.isFinal)
        }
        #expect(try StreamChunkFacts.read(Array(#"{"error":null,"done":true}"#.utf8)[...]).errorMessage == nil)
    }

    @Test func doneMustBeTheLiteralTrue() throws {
        for text in [#"{"done":"true"}"#, #"{"done":1}"#, #"{"done":false}"#, #"{"message":{"done":true}}"#, #"{"x":"\"done\":true"}"#] {
            #expect(try StreamChunkFacts.read(Array(text.utf8)[...]).isFinal == false, "\(text)")
        }
    }

    @Test func malformedChunksAreRefused() {
        for text in [#"{"done":true"#, #"["done",true]"#, #"{"done" true}"#, #"{"done":true} x"#] {
            #expect(throws: APIError.self, "\(text)") { try StreamChunkFacts.read(Array(text.utf8)[...]) }
        }
    }

    @Test func serverSentEventsEndingsAndFieldsFollowTheSpec() {
        let variants = [
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n",
            "data:{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\r\n\r\n",
            ": keep-alive\r\rdata: {\"choices\":[{\"finish_reason\":\"stop\"}],\r\ndata: \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\r\r",
        ]
        for text in variants {
            for pieces in StreamScanningTests.chunkings(Array(text.utf8)) {
                var scanner = ServerSentEventScanner()
                for piece in pieces { scanner.scan(piece) }
                scanner.finish()
                #expect(scanner.isComplete, "\(text.debugDescription)")
                #expect(scanner.promptTokens == 3)
                #expect(scanner.completionTokens == 4)
            }
        }
    }

    /// The Responses API's events, split anywhere: `response.completed` (or `response.incomplete`,
    /// an answer cut by its token limit) ends the answer with its usage; `response.failed` and
    /// `error` are in-band errors; a stream without either did not finish.
    @Test func responsesAPIEventsTellHowTheStreamEnded() {
        let created =
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"status\":\"in_progress\",\"error\":null}}\n\n"
        let delta = "event: response.output_text.delta\r\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\r\n\r\n"
        let cases: [(String, complete: Bool, error: String?)] = [
            (
                created + delta
                    + "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n\n",
                true, nil
            ),
            (
                created + delta
                    + "data: {\"type\":\"response.incomplete\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n\n",
                true, nil
            ),
            (
                created
                    + "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"error\":{\"message\":\"boom\"}}}\n\n",
                false, "boom"
            ),
            (created + "event: error\ndata: {\"type\":\"error\",\"code\":null,\"message\":\"boom\"}\n\n", false, "boom"),
            (created + delta, false, nil),
        ]
        expectScans(cases)
    }

    /// The Anthropic Messages API's events, split anywhere: `message_start` brings the prompt's
    /// tokens, `message_delta` the answer's, `message_stop` the end; an `error` event's message is
    /// nested in its `error`.
    @Test func anthropicEventsTellHowTheStreamEnded() {
        let start =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n"
        let delta =
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        let end =
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        let failure = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n"
        let cases: [(String, complete: Bool, error: String?)] = [
            (start + delta + end, true, nil), (start + delta + failure, false, "boom"), (start + delta, false, nil),
        ]
        expectScans(cases)
    }

    /// Scans each stream split every way: whether it finished, its in-band error, and (finished)
    /// 3 prompt and 4 answer tokens.
    private func expectScans(_ cases: [(String, complete: Bool, error: String?)]) {
        for (text, complete, error) in cases {
            for pieces in StreamScanningTests.chunkings(Array(text.utf8)) {
                var scanner = ServerSentEventScanner()
                for piece in pieces { scanner.scan(piece) }
                scanner.finish()
                #expect(scanner.isComplete == complete, "\(text.debugDescription)")
                #expect(scanner.errorMessage == error, "\(text.debugDescription)")
                if complete {
                    #expect(scanner.promptTokens == 3)
                    #expect(scanner.completionTokens == 4)
                }
            }
        }
    }

    @Test func aCutEventStreamIsNotComplete() {
        var scanner = ServerSentEventScanner()
        scanner.scan(Array("data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\ndata: {\"choi".utf8))
        scanner.finish()
        #expect(!scanner.isComplete)
    }
}
