import WireFormats

/// A cloud endpoint's OpenAI chat answer reshaped for a client that speaks another API (Ollama's
/// `/api/chat` and `/api/generate`, Anthropic's `/v1/messages`): the relay sends the cloud's request
/// in OpenAI's form and hands each answer here, whole or event by event, instead of relaying its bytes.
package protocol CloudAnswerReshaper: Sendable {
    /// `Content-Type` of a whole answer.
    var wholeContentType: String { get }
    /// `Content-Type` of a streamed answer.
    var streamContentType: String { get }
    /// The client's whole answer for OpenAI's `chat.completion`.
    mutating func whole(_ answer: JSONValue) -> [UInt8]
    /// What to send for OpenAI's stream events (parsed `data`), in order; possibly nothing.
    mutating func stream(_ events: [JSONValue]) -> [UInt8]
    /// The end of a stream that finished.
    mutating func finish() -> [UInt8]
    /// The client's in-band error, for a stream the cloud cut or failed.
    func streamError(_ message: String) -> [UInt8]
}

extension OllamaAnswerFromOpenAI: CloudAnswerReshaper {
    package var wholeContentType: String { "application/json; charset=utf-8" }
    package var streamContentType: String { "application/x-ndjson" }
    package mutating func stream(_ events: [JSONValue]) -> [UInt8] { lines(for: events) }
    package func streamError(_ message: String) -> [UInt8] { Self.errorLine(message) }
}

extension AnthropicAnswerFromOpenAI: CloudAnswerReshaper {
    package var wholeContentType: String { "application/json" }
    package var streamContentType: String { "text/event-stream" }
    package mutating func stream(_ events: [JSONValue]) -> [UInt8] { self.events(for: events) }
    package func streamError(_ message: String) -> [UInt8] { Self.errorEvent(message) }
}
