import Balancer
import WireFormats

/// Reads an OpenAI-style event stream as it passes through, to learn how it ended: whether it
/// finished (`data: [DONE]`, a choice with a `finish_reason`, the Responses API's
/// `response.completed` or `response.incomplete`, or the Anthropic Messages API's
/// `message_stop`), the usage it reported, and an in-band error (an `error` field, or an `error`
/// or `response.failed` event). Follows the SSE rules rather than one server's bytes: lines may end
/// in `\n`, `\r\n` or `\r` (even split across pieces), `data:` may or may not be followed by a
/// space, an event's several `data` lines join with `\n`, and comments and other fields are ignored.
package struct ServerSentEventScanner {
    private var line = [UInt8]()
    private var data = [UInt8]()
    private var hasData = false
    private var lastWasCR = false

    package private(set) var sawDone = false
    package private(set) var sawFinishReason = false
    package private(set) var promptTokens: Int64?
    package private(set) var completionTokens: Int64?
    package private(set) var errorMessage: String?
    /// Each event's parsed data since the last `takeEvents`, kept only when asked for at `init`: what a
    /// relay that reshapes the stream (`OllamaAnswerFromOpenAI`) rewrites, event by event.
    private var keptEvents: [JSONValue] = []
    private let keepsEvents: Bool

    package init(keepingEvents: Bool = false) { keepsEvents = keepingEvents }

    /// The events parsed since the last call, in order.
    package mutating func takeEvents() -> [JSONValue] {
        defer { keptEvents.removeAll(keepingCapacity: true) }
        return keptEvents
    }

    /// The stream ended as a whole answer does.
    package var isComplete: Bool { (sawDone || sawFinishReason) && errorMessage == nil }

    package mutating func scan(_ piece: some Sequence<UInt8>) {
        for byte in piece {
            if byte == 0x0A && lastWasCR {
                lastWasCR = false
                continue  // the LF of a CRLF pair
            }
            lastWasCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                endLine()
            } else {
                line.append(byte)
            }
        }
    }

    /// The stream ended: an event without its closing blank line still counts.
    package mutating func finish() {
        if !line.isEmpty { endLine() }
        dispatch()
    }

    private mutating func endLine() {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            dispatch()
            return
        }
        guard line.first != 0x3A else { return }  // a comment
        let colon = line.firstIndex(of: 0x3A) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return }
        var value = colon < line.endIndex ? line.index(after: colon) : colon
        if value < line.endIndex && line[value] == 0x20 { value += 1 }
        if hasData { data.append(0x0A) }
        data.append(contentsOf: line[value...])
        hasData = true
    }

    private mutating func dispatch() {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
        }
        guard hasData else { return }
        if data.elementsEqual("[DONE]".utf8) {
            sawDone = true
            return
        }
        guard let event = try? JSONParser.parse(data) else { return }
        if keepsEvents { keptEvents.append(event) }
        if let error = event["error"].flatMap(StreamChunkFacts.errorText) { errorMessage = error }
        if let choices = event["choices"]?.arrayValue, choices.contains(where: { !($0["finish_reason"]?.isNull ?? true) }) {
            sawFinishReason = true
        }
        if let usage = event["usage"], !usage.isNull {
            promptTokens = usage["prompt_tokens"]?.intValue ?? promptTokens
            completionTokens = usage["completion_tokens"]?.intValue ?? completionTokens
        }
        if let type = event["type"]?.stringValue { typedEvent(type, event) }
    }

    /// The events of the Responses and Anthropic Messages APIs, which name their type in the data:
    /// those that end a stream, bring its usage, or say why it failed.
    private mutating func typedEvent(_ type: String, _ event: JSONValue) {
        switch type {
        case "message_start":
            promptTokens = event["message"]?["usage"]?["input_tokens"]?.intValue ?? promptTokens
        case "message_delta":
            promptTokens = event["usage"]?["input_tokens"]?.intValue ?? promptTokens
            completionTokens = event["usage"]?["output_tokens"]?.intValue ?? completionTokens
        case "message_stop":
            sawDone = true
        case "response.completed", "response.incomplete":
            sawFinishReason = true
            if let usage = event["response"]?["usage"], !usage.isNull {
                promptTokens = usage["input_tokens"]?.intValue ?? promptTokens
                completionTokens = usage["output_tokens"]?.intValue ?? completionTokens
            }
        case "response.failed":
            errorMessage = event["response"]?["error"]?["message"]?.stringValue ?? "the response failed"
        case "error":
            // Anthropic's error event nests its message in `error`, read above.
            errorMessage = event["message"]?.stringValue ?? errorMessage ?? "the response failed"
        default: break
        }
    }
}
