import WireFormats

/// Turns an Ollama `/api/chat` or `/api/generate` body into an OpenAI `/chat/completions` body, for
/// a route's cloud targets: an Ollama client's request must reach the cloud tier too when the farm
/// cannot serve it, and OpenAI-compatible endpoints read only OpenAI's fields. The reverse of
/// `ChatRequestTranslation`: base64 images become data-URL parts, tool calls get ids and string
/// arguments, a tool result names the call it answers, and `options`, `format`, `logprobs` and a
/// `think` level become OpenAI's fields. A generate's `system` and `prompt` are a chat's first two
/// turns. Fields only Ollama knows (`keep_alive`, `think` as true or false, `num_ctx`, a generate's
/// `context`, `raw` and `template`) are left out.
package enum OllamaRequestForCloud {
    /// A chat's OpenAI fields besides `model` (the cloud endpoint's name for it is added when sent).
    package static func chatFields(_ request: JSONObject, stream: Bool) throws(APIError) -> JSONObject {
        guard let messages = request["messages"]?.arrayValue else {
            throw APIError(status: 400, "messages must be an array")
        }
        return try openAIFields(request, messages: translateMessages(messages), stream: stream)
    }

    /// A generate's OpenAI fields besides `model`: its `system` and `prompt` (with its images) as a chat.
    package static func generateFields(_ request: JSONObject, stream: Bool) throws(APIError) -> JSONObject {
        guard let prompt = request["prompt"]?.stringValue else { throw APIError(status: 400, "prompt must be a string") }
        var messages: [JSONValue] = []
        if let system = request["system"]?.stringValue, !system.isEmpty { messages.append(["role": "system", "content": .string(system)]) }
        var user: JSONObject = ["role": "user", "content": .string(prompt)]
        if let images = request["images"] { user["images"] = images }
        messages.append(.object(user))
        return try openAIFields(request, messages: translateMessages(messages), stream: stream)
    }

    private static func openAIFields(_ request: JSONObject, messages: [JSONValue], stream: Bool) throws(APIError) -> JSONObject {
        var out = JSONObject()
        out["messages"] = .array(messages)
        out["stream"] = .bool(stream)
        // Without it an OpenAI stream reports no token counts, and the final line's counts would read 0.
        if stream { out["stream_options"] = ["include_usage": true] }
        if let tools = request["tools"], !tools.isNull {
            guard tools.arrayValue != nil else { throw APIError(status: 400, "tools must be an array") }
            out["tools"] = tools
        }
        switch request["format"] {
        case .string("json")?: out["response_format"] = ["type": "json_object"]
        case .object(let schema)?:
            out["response_format"] = ["type": "json_schema", "json_schema": ["name": "response", "schema": .object(schema)]]
        default: break
        }
        if let options = request["options"]?.objectValue { copyOptions(options, into: &out) }
        try copyLogprobs(request, into: &out)
        // A level is OpenAI's `reasoning_effort` (Ollama reads that field back the same way, `xhigh` as
        // `max`). `true` and `false` are left to the model's default: a model that does not reason
        // refuses the field, where Ollama's `think: false` on such a model is harmless.
        switch request["think"]?.stringValue {
        case let level? where ["low", "medium", "high"].contains(level): out["reasoning_effort"] = .string(level)
        case "max"?: out["reasoning_effort"] = "xhigh"
        default: break
        }
        return out
    }

    /// `logprobs` and `top_logprobs`, which OpenAI takes under the same names and bounds as Ollama
    /// (but refuses `top_logprobs` without `logprobs`, where Ollama ignores it).
    private static func copyLogprobs(_ request: JSONObject, into out: inout JSONObject) throws(APIError) {
        var top = 0
        if let value = request["top_logprobs"], !value.isNull {
            guard let count = value.intValue, (0...20).contains(count) else {
                throw APIError(status: 400, "top_logprobs must be between 0 and 20")
            }
            top = Int(count)
        }
        guard request["logprobs"]?.boolValue == true else { return }
        out["logprobs"] = true
        if top > 0 { out["top_logprobs"] = .int(Int64(top)) }
    }

    /// Ollama's sampling options that OpenAI's API has under another name or the same one.
    private static func copyOptions(_ options: JSONObject, into out: inout JSONObject) {
        // Ollama's -1 (no limit) and -2 (fill the context) have no OpenAI equivalent: the cloud's default.
        if let limit = options["num_predict"]?.intValue, limit > 0 { out["max_tokens"] = .int(limit) }
        for key in ["temperature", "top_p", "frequency_penalty", "presence_penalty"] {
            if let value = options[key], value.doubleValue != nil { out[key] = value }
        }
        if let seed = options["seed"]?.intValue { out["seed"] = .int(seed) }
        if let stop = options["stop"] {
            switch stop {
            case .string: out["stop"] = .array([stop])
            case .array(let list) where list.allSatisfy({ $0.stringValue != nil }) && !list.isEmpty: out["stop"] = stop
            default: break
            }
        }
    }

    private static func translateMessages(_ messages: [JSONValue]) throws(APIError) -> [JSONValue] {
        var out: [JSONValue] = []
        out.reserveCapacity(messages.count)
        // The latest assistant turn's tool calls not answered yet, in order, for the tool results that
        // follow it: Ollama names the tool a result is for (or nothing), OpenAI the call.
        var unanswered: [(name: String, id: String)] = []
        var callCount = 0
        for (index, message) in messages.enumerated() {
            guard let fields = message.objectValue, let role = fields["role"]?.stringValue else {
                throw APIError(status: 400, "messages[\(index)] must be an object with a role")
            }
            var translated: JSONObject = ["role": .string(role)]
            let text = fields["content"]?.stringValue ?? ""
            let images = fields["images"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if images.isEmpty || role != "user" {
                translated["content"] = .string(text)
            } else {
                var parts: [JSONValue] = []
                if !text.isEmpty { parts.append(["type": "text", "text": .string(text)]) }
                for image in images {
                    parts.append(["type": "image_url", "image_url": ["url": .string(dataURL(image))]])
                }
                translated["content"] = .array(parts)
            }
            if role == "assistant", let calls = fields["tool_calls"]?.arrayValue, !calls.isEmpty {
                unanswered = []
                var openAICalls: [JSONValue] = []
                for call in calls {
                    guard let function = call["function"], let name = function["name"]?.stringValue else { continue }
                    callCount += 1
                    let id = call["id"]?.stringValue ?? "call_\(callCount)"
                    unanswered.append((name, id))
                    let arguments = function["arguments"].map { $0.stringValue ?? $0.serializedString() } ?? "{}"
                    openAICalls.append([
                        "id": .string(id), "type": "function",
                        "function": ["name": .string(name), "arguments": .string(arguments)],
                    ])
                }
                if !openAICalls.isEmpty {
                    translated["tool_calls"] = .array(openAICalls)
                    if text.isEmpty { translated["content"] = .null }
                }
            }
            if role == "tool" {
                let name = fields["tool_name"]?.stringValue ?? fields["name"]?.stringValue
                if let id = fields["tool_call_id"]?.stringValue {
                    translated["tool_call_id"] = .string(id)
                    unanswered.removeAll { $0.id == id }
                } else if let answered = unanswered.firstIndex(where: { $0.name == name }) ?? unanswered.indices.first {
                    translated["tool_call_id"] = .string(unanswered.remove(at: answered).id)
                }
            }
            out.append(.object(translated))
        }
        return out
    }

    /// Ollama takes images as bare base64; OpenAI as data URLs, whose type the first bytes tell.
    static func dataURL(_ base64: String) -> String {
        if base64.hasPrefix("data:") { return base64 }
        let type: String
        switch base64.prefix(4) {
        case "/9j/": type = "image/jpeg"
        case "R0lG": type = "image/gif"
        case "UklG": type = "image/webp"
        default: type = "image/png"
        }
        return "data:\(type);base64,\(base64)"
    }
}
