import Balancer

/// Turns a node's native answer into what the client asked for: OpenAI's shapes on `/v1`, the
/// same bytes on the native API. One value per response, so a stream keeps one `id`.
protocol AnswerTranslator {
    /// `Content-Type` of a streamed answer.
    var streamContentType: String { get }
    /// `Content-Type` of a whole answer: OpenAI's plain JSON, or Ollama's with a charset.
    var completionContentType: String { get }
    /// The body for a whole (non-streamed) answer; `raw` is the node's bytes, `answer` their parse.
    mutating func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8]
    /// What to send for one NDJSON line of the node's stream (possibly nothing).
    mutating func events(for line: JSONValue, raw: ArraySlice<UInt8>) -> [UInt8]
    /// An in-band error for a stream that already started.
    func errorEvent(_ message: String) -> [UInt8]
    /// True when the client gets the node's bytes unchanged: the relay then forwards each piece as
    /// it arrives and parses only the lines that matter (the final one, errors).
    var passesBytesThrough: Bool { get }
}

extension AnswerTranslator {
    var passesBytesThrough: Bool { false }
    var completionContentType: String { "application/json" }
}

extension ChatResponseTranslation: AnswerTranslator {
    var streamContentType: String { "text/event-stream" }
    mutating func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { completion(from: answer).serialized() }
    mutating func events(for line: JSONValue, raw: ArraySlice<UInt8>) -> [UInt8] { events(for: line) }
    func errorEvent(_ message: String) -> [UInt8] { Self.errorEvent(message) }
}

/// The native API: the node's bytes go to the client untouched; lines are parsed only to see
/// usage and the end of the stream.
struct PassThroughTranslator: AnswerTranslator {
    var streamContentType: String { "application/x-ndjson" }
    var passesBytesThrough: Bool { true }
    var completionContentType: String { "application/json; charset=utf-8" }
    func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] { raw }
    func events(for line: JSONValue, raw: ArraySlice<UInt8>) -> [UInt8] {
        var out = Array(raw)
        out.append(10)
        return out
    }
    func errorEvent(_ message: String) -> [UInt8] {
        var out = JSONValue.object(["error": .string(message)]).serialized()
        out.append(10)
        return out
    }
}
