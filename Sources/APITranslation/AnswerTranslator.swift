import Balancer
import WireFormats

/// Turns a node's native answer into what the client asked for: OpenAI's shapes on `/v1`, the
/// same bytes on the native API. One value per response, so a stream keeps one `id`.
package protocol AnswerTranslator {
    /// `Content-Type` of a streamed answer.
    var streamContentType: String { get }
    /// `Content-Type` of a whole answer: OpenAI's plain JSON, or Ollama's with a charset.
    var completionContentType: String { get }
    /// The body for a whole (non-streamed) answer; `raw` is the node's bytes, `answer` their parse.
    mutating func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8]
    /// An in-band error for a stream that already started.
    func errorEvent(_ message: String) -> [UInt8]
    /// The whole answer goes to the client as the node sent it, with the node's `Content-Type`,
    /// unparsed (`WholeAnswerPassThrough`).
    var passesWholeAnswerUnread: Bool { get }
}

/// A translator that rewrites a stream line by line (OpenAI's server-sent events). A translator
/// that is not one passes the node's bytes through: the relay forwards each piece as it arrives
/// and only scans the lines that matter (the final one, errors).
package protocol StreamTranslator: AnswerTranslator {
    /// What to send for one NDJSON line of the node's stream (possibly nothing).
    mutating func events(for line: JSONValue) -> [UInt8]
}

extension AnswerTranslator {
    package var completionContentType: String { "application/json" }
    package var passesWholeAnswerUnread: Bool { false }
}

/// A whole answer that the node's Ollama shaped for the client itself and that may not be JSON:
/// `/v1/audio/transcriptions` answers `{"text": …}`, or plain text for `response_format: text`.
/// The relay passes its bytes and its `Content-Type` on without reading them.
package struct WholeAnswerPassThrough: AnswerTranslator {
    package init() {}
    package var streamContentType: String { "application/json" }
    package var passesWholeAnswerUnread: Bool { true }
    package func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { raw }
    package func errorEvent(_ message: String) -> [UInt8] { APIError(status: 502, message).openAIBody.serialized() }
}

extension ChatResponseTranslation: StreamTranslator {
    package var streamContentType: String { "text/event-stream" }
    package mutating func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { completion(from: answer).serialized() }
    package func errorEvent(_ message: String) -> [UInt8] { Self.errorEvent(message) }
}

/// The native API: the node's bytes go to the client untouched; lines are parsed only to see
/// usage and the end of the stream.
package struct PassThroughTranslator: AnswerTranslator {
    package init() {}
    package var streamContentType: String { "application/x-ndjson" }
    package var completionContentType: String { "application/json; charset=utf-8" }
    package func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { raw }
    package func errorEvent(_ message: String) -> [UInt8] {
        var out = JSONValue.object(["error": .string(message)]).serialized()
        out.append(10)
        return out
    }
}

/// A node's own server-sent events, for the APIs Ollama translates itself (`/v1/responses`,
/// OpenAI's Responses API, and `/v1/messages`, Anthropic's Messages API): the node's bytes go to
/// the client untouched, a stream's events as they come. The relay scans the events
/// (`ServerSentEventScanner`) only to see usage, errors and the end.
package struct EventStreamPassThrough: AnswerTranslator {
    package enum API: Sendable { case responses, anthropicMessages }
    package let api: API

    package init(_ api: API) { self.api = api }
    package var streamContentType: String { "text/event-stream" }
    package func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { raw }

    /// The API's own `error` event, so a client's stream parser reads it as one.
    package func errorEvent(_ message: String) -> [UInt8] {
        let event: JSONValue =
            switch api {
            case .responses: ["type": "error", "code": nil, "message": .string(message), "param": nil]
            case .anthropicMessages: ["type": "error", "error": ["type": "api_error", "message": .string(message)]]
            }
        return Array("event: error\ndata: ".utf8) + event.serialized() + Array("\n\n".utf8)
    }
}
