import WireFormats

extension OllamaSimulator {
    /// An Anthropic Messages API request's turns as chat messages: `system`, then each message's
    /// text (a string, or its blocks' texts joined).
    static func anthropicMessages(_ body: JSONValue) -> [JSONValue] {
        var messages: [JSONValue] = []
        if let system = body["system"], !system.isNull { messages.append(["role": "system", "content": .string(text(of: system))]) }
        for message in body["messages"]?.arrayValue ?? [] {
            messages.append(["role": message["role"] ?? "user", "content": .string(text(of: message["content"]))])
        }
        return messages
    }

    /// An Anthropic `message`: empty as a stream's `message_start` carries it, or the whole answer.
    func anthropicMessage(_ model: String, text: String, metrics: Metrics, stopped: Bool, reason: String = "stop") -> JSONValue {
        [
            "id": "msg_42", "type": "message", "role": "assistant", "model": .string(model),
            "content": stopped ? [["type": "text", "text": .string(text)]] : [],
            "stop_reason": stopped ? .string(reason == "length" ? "max_tokens" : "end_turn") : nil, "stop_sequence": nil,
            "usage": ["input_tokens": .int(Int64(metrics.promptTokens)), "output_tokens": .int(Int64(stopped ? metrics.evalTokens : 0))],
        ]
    }
}
