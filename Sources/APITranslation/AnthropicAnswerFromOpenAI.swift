import WireFormats

/// Turns a cloud endpoint's OpenAI chat answer into the Anthropic Messages API's, for the
/// `/v1/messages` client a route sent to the cloud tier: a `message` object for a whole answer, and
/// for a stream Anthropic's events (`message_start`, a `content_block_start`, deltas and
/// `content_block_stop` per block, `message_delta` with the stop reason and usage, `message_stop`).
/// Text, reasoning (`thinking` blocks) and tool calls (`tool_use` blocks, their arguments streamed as
/// `input_json_delta`) each open a block of their own as they begin. The usage comes in OpenAI's last
/// chunk, after the finish reason, so `message_delta` waits for the stream's end.
package struct AnthropicAnswerFromOpenAI: Sendable {
    /// The model as the client named it.
    package let model: String
    /// The message's `msg_…` id.
    package let id: String
    private var finishReason: String?
    private var inputTokens: Int64 = 0
    private var outputTokens: Int64 = 0
    private var started = false
    /// The open block: its index and what it holds (`text`, `thinking`, or a tool call's OpenAI index).
    private var open: (index: Int, kind: BlockKind)?
    private var nextIndex = 0
    /// The OpenAI index of the latest tool call a stream began.
    private var latestToolCall: Int64?

    private enum BlockKind: Equatable {
        case text, thinking
        case toolCall(Int64)
    }

    package init(model: String, id: String) {
        self.model = model
        self.id = id
    }

    /// Anthropic's `message` for OpenAI's `chat.completion`.
    package mutating func whole(_ answer: JSONValue) -> [UInt8] {
        let choice = answer["choices"]?[0]
        let message = choice?["message"]
        var content: [JSONValue] = []
        if let thinking = OpenAIAnswerParts.reasoning(message) {
            content.append(["type": "thinking", "thinking": .string(thinking), "signature": ""])
        }
        if let text = message?["content"]?.stringValue, !text.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            content.append([
                "type": "tool_use", "id": call["id"] ?? "", "name": call["function"]?["name"] ?? "",
                "input": OpenAIAnswerParts.argumentsObject(call["function"]?["arguments"]),
            ])
        }
        if content.isEmpty { content.append(["type": "text", "text": ""]) }
        finishReason = choice?["finish_reason"]?.stringValue
        readUsage(answer)
        return JSONValue.object(messageObject(content: .array(content), stopped: true)).serialized()
    }

    /// The events for OpenAI's stream events, in order (possibly none).
    package mutating func events(for chunks: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        for chunk in chunks { events(for: chunk, into: &out) }
        return out
    }

    private mutating func events(for chunk: JSONValue, into out: inout [UInt8]) {
        readUsage(chunk)
        if !started {
            started = true
            Self.append(
                "message_start", ["type": "message_start", "message": .object(messageObject(content: [], stopped: false))], to: &out)
        }
        guard let choice = chunk["choices"]?[0] else { return }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        let delta = choice["delta"]
        if let thinking = OpenAIAnswerParts.reasoning(delta) {
            openBlock(.thinking, start: ["type": "thinking", "thinking": "", "signature": ""], into: &out)
            blockDelta(["type": "thinking_delta", "thinking": .string(thinking)], into: &out)
        }
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            openBlock(.text, start: ["type": "text", "text": ""], into: &out)
            blockDelta(["type": "text_delta", "text": .string(text)], into: &out)
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            // OpenAI numbers a call's fragments; a server that does not starts a call with its id and
            // sends the rest of it without one.
            let index = call["index"]?.intValue ?? (call["id"] == nil ? latestToolCall : nil) ?? (latestToolCall.map { $0 + 1 } ?? 0)
            latestToolCall = index
            if open?.kind != .toolCall(index) {
                let start: JSONValue = [
                    "type": "tool_use", "id": call["id"] ?? "", "name": call["function"]?["name"] ?? "", "input": [:],
                ]
                openBlock(.toolCall(index), start: start, into: &out)
            }
            if let part = call["function"]?["arguments"]?.stringValue, !part.isEmpty {
                blockDelta(["type": "input_json_delta", "partial_json": .string(part)], into: &out)
            }
        }
    }

    /// The last events of a stream that ended: the open block closed, the stop reason and usage, the stop.
    package mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !started { events(for: ["choices": []], into: &out) }
        closeBlock(into: &out)
        Self.append(
            "message_delta",
            [
                "type": "message_delta", "delta": ["stop_reason": .string(stopReason), "stop_sequence": nil],
                "usage": ["input_tokens": .int(inputTokens), "output_tokens": .int(outputTokens)],
            ], to: &out)
        Self.append("message_stop", ["type": "message_stop"], to: &out)
        return out
    }

    /// Anthropic's in-band `error` event, for a stream the cloud cut.
    package static func errorEvent(_ message: String) -> [UInt8] {
        var out: [UInt8] = []
        append("error", APIError(status: 502, message).anthropicBody, to: &out)
        return out
    }

    private var stopReason: String {
        switch finishReason {
        case "length": return "max_tokens"
        case "tool_calls", "function_call": return "tool_use"
        default: return "end_turn"
        }
    }

    private func messageObject(content: JSONValue, stopped: Bool) -> JSONObject {
        [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": content,
            "stop_reason": stopped ? .string(stopReason) : nil, "stop_sequence": nil,
            "usage": ["input_tokens": .int(inputTokens), "output_tokens": .int(stopped ? outputTokens : 0)],
        ]
    }

    private mutating func openBlock(_ kind: BlockKind, start: JSONValue, into out: inout [UInt8]) {
        guard open?.kind != kind else { return }
        closeBlock(into: &out)
        open = (nextIndex, kind)
        Self.append(
            "content_block_start", ["type": "content_block_start", "index": .int(Int64(nextIndex)), "content_block": start], to: &out)
        nextIndex += 1
    }

    private func blockDelta(_ delta: JSONValue, into out: inout [UInt8]) {
        guard let open else { return }
        Self.append("content_block_delta", ["type": "content_block_delta", "index": .int(Int64(open.index)), "delta": delta], to: &out)
    }

    private mutating func closeBlock(into out: inout [UInt8]) {
        guard let closing = open else { return }
        Self.append("content_block_stop", ["type": "content_block_stop", "index": .int(Int64(closing.index))], to: &out)
        open = nil
    }

    private mutating func readUsage(_ value: JSONValue) {
        guard let counts = OpenAIAnswerParts.usage(value) else { return }
        inputTokens = counts.prompt ?? inputTokens
        outputTokens = counts.completion ?? outputTokens
    }

    /// One named server-sent event, as Anthropic writes them.
    private static func append(_ name: String, _ data: JSONValue, to out: inout [UInt8]) {
        out += Array("event: \(name)\ndata: ".utf8)
        data.write(into: &out)
        out += [10, 10]
    }
}
