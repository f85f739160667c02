import WireFormats

/// A cloud endpoint's OpenAI answer reshaped for a client that speaks another API (Ollama's
/// `/api/chat`, `/api/generate` and embeddings, Anthropic's `/v1/messages`): the relay sends the
/// cloud's request in OpenAI's form and hands each answer here, whole or event by event, instead of
/// relaying its bytes.
package protocol CloudAnswerReshaper: Sendable {
    /// `Content-Type` of a whole answer.
    var wholeContentType: String { get }
    /// `Content-Type` of a streamed answer.
    var streamContentType: String { get }
    /// The client's whole answer for OpenAI's; nil when the cloud's answer lacks what it needs.
    mutating func reshapedWhole(_ answer: JSONValue) -> [UInt8]?
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
    package mutating func reshapedWhole(_ answer: JSONValue) -> [UInt8]? { whole(answer) }
    package mutating func stream(_ events: [JSONValue]) -> [UInt8] { lines(for: events) }
    package func streamError(_ message: String) -> [UInt8] { Self.errorLine(message) }
}

extension AnthropicAnswerFromOpenAI: CloudAnswerReshaper {
    package var wholeContentType: String { "application/json" }
    package var streamContentType: String { "text/event-stream" }
    package mutating func reshapedWhole(_ answer: JSONValue) -> [UInt8]? { whole(answer) }
    package mutating func stream(_ events: [JSONValue]) -> [UInt8] { self.events(for: events) }
    package func streamError(_ message: String) -> [UInt8] { Self.errorEvent(message) }
}

/// Ollama's embedding endpoints never stream: only a whole answer is ever reshaped.
extension OllamaEmbeddingFromOpenAI: CloudAnswerReshaper {
    package var wholeContentType: String { "application/json; charset=utf-8" }
    package var streamContentType: String { "application/x-ndjson" }
    package mutating func reshapedWhole(_ answer: JSONValue) -> [UInt8]? { self.answer(answer) }
    package mutating func stream(_ events: [JSONValue]) -> [UInt8] { [] }
    package mutating func finish() -> [UInt8] { [] }
    package func streamError(_ message: String) -> [UInt8] { OllamaAnswerFromOpenAI.errorLine(message) }
}
