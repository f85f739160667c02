import APITranslation
import WireFormats

/// An OpenAI chat stream as a cloud endpoint sends it, and the relay's reshaping of it for another
/// API with the cloud's bytes cut anywhere: what the reshaping tests check, byte split by byte split.
enum CloudStreamFixture {
    /// Text, reasoning, a tool call in fragments and usage in the last event; `finishReason` ends it.
    static func events(finishReason: String) -> [String] {
        [
            #"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"reasoning_content":"hm"},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"content":"lo ✓"},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]}"#,
            #"data: {"choices":[{"index":0,"delta":{},"finish_reason":"\#(finishReason)"}]}"#,
            #"data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}"#,
            "data: [DONE]",
        ]
    }

    /// What `reshaper` sends for `events`, the bytes cut after `split`, each line ended by `newline`.
    static func reshaped(_ reshaper: some CloudAnswerReshaper, _ events: [String], split: Int, newline: String) -> [UInt8] {
        var reshaper = reshaper
        let bytes = Array(events.map { $0 + newline + newline }.joined().utf8)
        var scanner = ServerSentEventScanner(keepingEvents: true)
        var out: [UInt8] = []
        for piece in [bytes[..<min(split, bytes.count)], bytes[min(split, bytes.count)...]] {
            scanner.scan(piece)
            out += reshaper.stream(scanner.takeEvents())
        }
        scanner.finish()
        out += reshaper.stream(scanner.takeEvents())
        if scanner.isComplete { out += reshaper.finish() }
        return out
    }

    /// Every split `stride` bytes apart, with `\n` and `\r\n` line ends.
    static func splits(of events: [String], every stride: Int = 7) -> [(split: Int, newline: String)] {
        let length = events.map { $0.utf8.count + 2 }.reduce(0, +)
        return ["\n", "\r\n"].flatMap { newline in Swift.stride(from: 0, through: length, by: stride).map { ($0, newline) } }
    }
}
