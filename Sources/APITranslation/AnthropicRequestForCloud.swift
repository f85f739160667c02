import WireFormats

/// Turns an Anthropic Messages API body (`/v1/messages`) into an OpenAI `/chat/completions` body, for
/// a route's cloud targets: Claude Code and the `anthropic` SDK must reach the cloud tier too when the
/// farm cannot serve them, and the cloud endpoints TensorWall knows speak OpenAI's API. `system`
/// becomes a system turn; content blocks become text, data-URL image parts, tool calls (a
/// `tool_use` block, its `input` as a JSON string) and tool turns (a `tool_result` block, answering
/// its call by id); tools and `tool_choice` take OpenAI's form. Thinking blocks, `top_k` and
/// `metadata` have no OpenAI equivalent and are left out.
package enum AnthropicRequestForCloud {
    /// The OpenAI fields besides `model` (the cloud endpoint's name for it is added when sent).
    package static func chatFields(_ request: JSONObject, stream: Bool) throws(APIError) -> JSONObject {
        guard let messages = request["messages"]?.arrayValue else {
            throw APIError.badRequest("messages: Field required", param: "messages")
        }
        var out = JSONObject()
        var turns: [JSONValue] = []
        if let system = request["system"], let text = plainText(system), !text.isEmpty {
            turns.append(["role": "system", "content": .string(text)])
        }
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue, role == "user" || role == "assistant" else {
                throw APIError.badRequest("messages.\(index).role: Input should be 'user' or 'assistant'", param: "messages")
            }
            turns += try translate(message["content"], role: role, at: index)
        }
        out["messages"] = .array(turns)
        out["stream"] = .bool(stream)
        // Without it an OpenAI stream reports no token counts, and the final usage would read 0.
        if stream { out["stream_options"] = ["include_usage": true] }
        if let limit = request["max_tokens"]?.intValue { out["max_tokens"] = .int(limit) }
        for key in ["temperature", "top_p"] {
            if let value = request[key], value.doubleValue != nil { out[key] = value }
        }
        if let stops = request["stop_sequences"]?.arrayValue, !stops.isEmpty, stops.allSatisfy({ $0.stringValue != nil }) {
            out["stop"] = .array(stops)
        }
        if let tools = request["tools"]?.arrayValue, !tools.isEmpty {
            out["tools"] = .array(
                tools.compactMap { tool in
                    guard let name = tool["name"]?.stringValue else { return nil }
                    var function: JSONObject = ["name": .string(name)]
                    if let description = tool["description"] { function["description"] = description }
                    function["parameters"] = tool["input_schema"] ?? ["type": "object"]
                    return ["type": "function", "function": .object(function)]
                })
        }
        if let choice = request["tool_choice"]?["type"]?.stringValue {
            switch choice {
            case "auto", "none": out["tool_choice"] = .string(choice)
            case "any": out["tool_choice"] = "required"
            case "tool":
                if let name = request["tool_choice"]?["name"] {
                    out["tool_choice"] = ["type": "function", "function": ["name": name]]
                }
            default: break
            }
        }
        return out
    }

    /// One Anthropic message as OpenAI turns: its tool results each a turn of their own (OpenAI's
    /// `tool` role) before the rest of a user's content.
    private static func translate(_ content: JSONValue?, role: String, at index: Int) throws(APIError) -> [JSONValue] {
        if let text = content?.stringValue { return [["role": .string(role), "content": .string(text)]] }
        guard let blocks = content?.arrayValue else {
            throw APIError.badRequest("messages.\(index).content: Input should be a valid string or list", param: "messages")
        }
        var turns: [JSONValue] = []
        var parts: [JSONValue] = []
        var calls: [JSONValue] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text":
                parts.append(["type": "text", "text": block["text"] ?? ""])
            case "image":
                if let url = imageURL(block["source"]) { parts.append(["type": "image_url", "image_url": ["url": .string(url)]]) }
            case "tool_use":
                let input = block["input"].map { $0.serializedString() } ?? "{}"
                calls.append([
                    "id": block["id"] ?? "", "type": "function",
                    "function": ["name": block["name"] ?? "", "arguments": .string(input)],
                ])
            case "tool_result":
                let result = block["content"].flatMap(plainText) ?? ""
                turns.append(["role": "tool", "tool_call_id": block["tool_use_id"] ?? "", "content": .string(result)])
            default:
                break  // thinking and other blocks the cloud has no place for
            }
        }
        if role == "assistant" {
            let text = parts.compactMap { $0["text"]?.stringValue }.joined()
            var turn: JSONObject = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? .null : .string(text)]
            if !calls.isEmpty { turn["tool_calls"] = .array(calls) }
            turns.append(.object(turn))
        } else if !parts.isEmpty {
            let onlyText = parts.allSatisfy { $0["type"] == "text" }
            let text = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            turns.append(["role": "user", "content": onlyText ? .string(text) : .array(parts)])
        }
        return turns
    }

    /// A string, or the text of a list of text blocks (a `system` prompt or a tool's result).
    private static func plainText(_ value: JSONValue) -> String? {
        if let text = value.stringValue { return text }
        guard let blocks = value.arrayValue else { return nil }
        return blocks.compactMap { $0["type"] == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
    }

    /// An image block's source as a URL: its data as a data URL, or the URL it names.
    private static func imageURL(_ source: JSONValue?) -> String? {
        switch source?["type"]?.stringValue {
        case "base64":
            guard let data = source?["data"]?.stringValue else { return nil }
            return "data:\(source?["media_type"]?.stringValue ?? "image/png");base64,\(data)"
        case "url": return source?["url"]?.stringValue
        default: return nil
        }
    }
}
