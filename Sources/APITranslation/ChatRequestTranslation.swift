import Balancer
import WireFormats

/// Turns an OpenAI `/v1/chat/completions` body into an Ollama `/api/chat` body, field by field
/// (the seed's table plus stop, seed, penalties, vision parts, tools, response_format and reasoning
/// effort), as Ollama's own `/v1` does, and refuses what Ollama would refuse with the same words.
package struct ChatRequestTranslation {
    /// The model as the client named it, minus an `ollama/` prefix: what Ollama is sent and echoes.
    package private(set) var model: String
    /// `model` parsed, once per request (nil if it is no valid model name); set only with `model`.
    package private(set) var modelName: ModelName?
    package var stream: Bool
    package var includeUsage: Bool
    package var ollamaBody: JSONValue
    /// Identifies the conversation before its newest turn (nil for a first turn).
    package var conversationKey: UInt64?
    /// Identifies the conversation including this turn: the next turn looks itself up by it.
    package var continuationKey: UInt64

    /// The same request for another model (a route's target); conversation keys follow the new model.
    package func retargeted(to newModel: String) -> ChatRequestTranslation {
        guard newModel != model, case .object(var fields) = ollamaBody else { return self }
        fields["model"] = .string(newModel)
        let modelName = ModelName(newModel)
        let keys = ConversationKeys(model: modelName?.canonical ?? newModel, messages: fields["messages"]?.arrayValue ?? [])
        return ChatRequestTranslation(
            model: newModel, modelName: modelName, stream: stream, includeUsage: includeUsage, ollamaBody: .object(fields),
            conversationKey: keys.previousTurn,
            continuationKey: keys.thisTurn)
    }

    package static func translate(_ body: JSONValue) throws(APIError) -> ChatRequestTranslation {
        guard let request = body.objectValue else {
            throw .badRequest("request body must be a JSON object, got \(body.typeName)")
        }
        guard let modelValue = request["model"], !modelValue.isNull else {
            throw .badRequest("you must provide a model parameter", param: "model")
        }
        guard let named = modelValue.stringValue else { throw .badRequest("model must be a string", param: "model") }
        let model = ModelName.strippingFarmPrefix(named).name
        guard !model.isEmpty else { throw .badRequest("you must provide a model parameter", param: "model") }

        guard let messagesValue = request["messages"], !messagesValue.isNull else {
            throw .badRequest("you must provide a messages parameter", param: "messages")
        }
        guard let messages = messagesValue.arrayValue else { throw .badRequest("messages must be an array", param: "messages") }
        guard !messages.isEmpty else { throw .badRequest("[] is too short - 'messages'", param: "messages") }

        var stream = false
        if let value = request["stream"], !value.isNull {
            guard let flag = value.boolValue else { throw .badRequest("stream must be a boolean", param: "stream") }
            stream = flag
        }
        var includeUsage = false
        if let options = request["stream_options"], !options.isNull {
            guard options.objectValue != nil else { throw .badRequest("stream_options must be an object", param: "stream_options") }
            includeUsage = options["include_usage"]?.boolValue ?? false
        }

        var out = JSONObject()
        out["model"] = .string(model)
        let translatedMessages = try translateMessages(messages)
        out["messages"] = .array(translatedMessages)
        out["stream"] = .bool(stream)
        if let format = try responseFormat(request["response_format"]) { out["format"] = format }
        if let tools = request["tools"], !tools.isNull {
            guard tools.arrayValue != nil else { throw .badRequest("tools must be an array", param: "tools") }
            out["tools"] = tools
        }
        if let keepAlive = request["keep_alive"], !keepAlive.isNull { out["keep_alive"] = keepAlive }
        if let think = try think(request) { out["think"] = think }
        try logprobs(request, into: &out)
        let options = try self.options(request)
        if !options.isEmpty { out["options"] = .object(options) }
        let modelName = ModelName(model)
        let keys = ConversationKeys(model: modelName?.canonical ?? model, messages: translatedMessages)
        return ChatRequestTranslation(
            model: model, modelName: modelName, stream: stream, includeUsage: includeUsage, ollamaBody: .object(out),
            conversationKey: keys.previousTurn,
            continuationKey: keys.thisTurn)
    }

    package static func options(_ request: JSONObject) throws(APIError) -> JSONObject {
        var options = JSONObject()
        func number(_ key: String) throws(APIError) -> JSONValue? {
            guard let value = request[key], !value.isNull else { return nil }
            guard value.doubleValue != nil else { throw .badRequest("\(key) must be a number", param: key) }
            return value
        }
        func integer(_ key: String) throws(APIError) -> JSONValue? {
            guard let value = request[key], !value.isNull else { return nil }
            guard let whole = value.intValue else { throw .badRequest("\(key) must be an integer", param: key) }
            return .int(whole)
        }
        if let maxTokens = try integer("max_tokens") {
            options["num_predict"] = maxTokens
        } else if let maxTokens = try integer("max_completion_tokens") {
            options["num_predict"] = maxTokens
        }
        // Left out, both are 1.0 on Ollama's own `/v1`, not the model's defaults (0.8 and 0.9 unless
        // its Modelfile says otherwise): the same request must sample the same way through TensorWall.
        options["temperature"] = try number("temperature") ?? .double(1)
        options["top_p"] = try number("top_p") ?? .double(1)
        if let seed = try integer("seed") { options["seed"] = seed }
        if let penalty = try number("frequency_penalty") { options["frequency_penalty"] = penalty }
        if let penalty = try number("presence_penalty") { options["presence_penalty"] = penalty }
        if let stop = request["stop"], !stop.isNull {
            switch stop {
            case .string: options["stop"] = .array([stop])
            case .array(let list):
                guard list.allSatisfy({ $0.stringValue != nil }) else {
                    throw .badRequest("stop must be a string or an array of strings", param: "stop")
                }
                options["stop"] = stop
            default: throw .badRequest("stop must be a string or an array of strings", param: "stop")
            }
        }
        return options
    }

    /// Ollama's `think` for a reasoning effort: `reasoning.effort` when `reasoning` is given (as
    /// Ollama reads it, even empty), else `reasoning_effort`. Sent as it came, a thinking model
    /// would think at its default where the client asked it not to, or less.
    private static func think(_ request: JSONObject) throws(APIError) -> JSONValue? {
        let param: String
        let value: JSONValue?
        if let reasoning = request["reasoning"], !reasoning.isNull {
            guard reasoning.objectValue != nil else { throw .badRequest("reasoning must be an object", param: "reasoning") }
            (param, value) = ("reasoning", reasoning["effort"])
        } else {
            (param, value) = ("reasoning_effort", request["reasoning_effort"])
        }
        guard let value, !value.isNull else { return nil }
        guard let effort = value.stringValue else { throw .badRequest("\(param) must be a string", param: param) }
        switch effort {
        case "": return nil
        case "none": return .bool(false)
        case "minimal": return "low"
        case "low", "medium", "high", "max": return .string(effort)
        case "xhigh", "ultra": return "max"
        default:
            throw .badRequest(
                #"invalid reasoning value: '\#(effort)' (must be "none", "minimal", "low", "medium", "high", "max", "xhigh" or "ultra")"#,
                param: param)
        }
    }

    /// `logprobs` and `top_logprobs`, which Ollama's `/api/chat` takes as they are (its answer's
    /// `logprobs` come back as each choice's `logprobs.content`).
    private static func logprobs(_ request: JSONObject, into out: inout JSONObject) throws(APIError) {
        if let value = request["logprobs"], !value.isNull {
            guard let wanted = value.boolValue else { throw .badRequest("logprobs must be a boolean", param: "logprobs") }
            out["logprobs"] = .bool(wanted)
        }
        if let value = request["top_logprobs"], !value.isNull {
            guard let count = value.intValue else { throw .badRequest("top_logprobs must be an integer", param: "top_logprobs") }
            guard (0...20).contains(count) else { throw .badRequest("top_logprobs must be between 0 and 20", param: "top_logprobs") }
            out["top_logprobs"] = .int(count)
        }
    }

    /// Read as Ollama's own `/v1` reads it (`openai.fromChatRequest`): the type without case or
    /// surrounding spaces, `json_object` and `json_schema` turned into a format, any other type (or a
    /// `json_schema` without a schema) left out. What Ollama could not decode at all, or a schema that
    /// is neither an object nor `"json"` (which Ollama's runner refuses as an invalid format), is a 400 here.
    private static func responseFormat(_ value: JSONValue?) throws(APIError) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        guard let fields = value.objectValue else {
            throw .badRequest("response_format must be an object with a type", param: "response_format")
        }
        if let type = fields["type"], !type.isNull, type.stringValue == nil {
            throw .badRequest("response_format.type must be a string", param: "response_format")
        }
        let type = (fields["type"]?.stringValue ?? "").trimmingWhitespace().lowercased()
        switch type {
        case "json_object": return "json"
        case "json_schema":
            guard let schema = value["json_schema"]?["schema"], !schema.isNull else { return nil }
            guard schema.objectValue != nil || schema.stringValue == "json" else {
                throw .badRequest("response_format.json_schema.schema must be an object", param: "response_format")
            }
            return schema
        default: return nil
        }
    }

    private static func translateMessages(_ messages: [JSONValue]) throws(APIError) -> [JSONValue] {
        var out: [JSONValue] = []
        out.reserveCapacity(messages.count)
        var toolNames: [String: String] = [:]  // tool_call_id → function name, for tool results
        for (index, message) in messages.enumerated() {
            let param = "messages[\(index)]"
            guard let fields = message.objectValue else { throw .badRequest("\(param) must be an object", param: param) }
            guard var role = fields["role"]?.stringValue?.lowercased() else {
                throw .badRequest("\(param).role is required", param: "\(param).role")
            }
            if role == "developer" { role = "system" }
            guard ["system", "user", "assistant", "tool"].contains(role) else {
                throw .badRequest("\(param).role '\(role)' is not one of system, user, assistant, tool", param: "\(param).role")
            }
            var translated = JSONObject()
            translated["role"] = .string(role)
            var text = ""
            var images: [JSONValue] = []
            switch fields["content"] ?? .null {
            case .string(let content):
                text = content
            case .null:
                guard role == "assistant" || role == "tool" else {
                    throw .badRequest("\(param).content is required", param: "\(param).content")
                }
            case .array(let parts):
                var texts: [String] = []
                for (partIndex, part) in parts.enumerated() {
                    let partParam = "\(param).content[\(partIndex)]"
                    switch part["type"]?.stringValue {
                    case "text":
                        guard let partText = part["text"]?.stringValue else {
                            throw .badRequest("\(partParam).text must be a string", param: partParam)
                        }
                        texts.append(partText)
                    case "image_url":
                        let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue
                        guard let url else { throw .badRequest("\(partParam).image_url.url must be a string", param: partParam) }
                        images.append(.string(try imageData(url, param: partParam)))
                    default:
                        throw .badRequest("invalid message format", param: partParam)
                    }
                }
                text = texts.joined(separator: "\n")
            default:
                throw .badRequest("\(param).content must be a string or an array of content parts", param: "\(param).content")
            }
            translated["content"] = .string(text)
            if !images.isEmpty { translated["images"] = .array(images) }
            if role == "assistant", let calls = fields["tool_calls"], !calls.isNull {
                translated["tool_calls"] = .array(try toolCalls(calls, param: param, names: &toolNames))
            }
            if role == "tool" {
                if let name = fields["name"]?.stringValue {
                    translated["tool_name"] = .string(name)
                } else if let id = fields["tool_call_id"]?.stringValue, let name = toolNames[id] {
                    translated["tool_name"] = .string(name)
                }
                if let id = fields["tool_call_id"]?.stringValue { translated["tool_call_id"] = .string(id) }
            }
            out.append(.object(translated))
        }
        return out
    }

    private static func toolCalls(_ value: JSONValue, param: String, names: inout [String: String]) throws(APIError) -> [JSONValue] {
        guard let calls = value.arrayValue else { throw .badRequest("\(param).tool_calls must be an array", param: param) }
        var out: [JSONValue] = []
        for (index, call) in calls.enumerated() {
            guard let function = call["function"], let name = function["name"]?.stringValue else {
                throw .badRequest("\(param).tool_calls[\(index)].function.name is required", param: param)
            }
            var arguments: JSONValue = [:]
            switch function["arguments"] {
            case .string(let text)?:
                do { arguments = try JSONParser.parse(text) } catch { throw .badRequest("invalid tool call arguments", param: param) }
            case .object(let object)?: arguments = .object(object)
            case nil, .null?: break
            default: throw .badRequest("invalid tool call arguments", param: param)
            }
            if let id = call["id"]?.stringValue { names[id] = name }
            var translated: JSONObject = ["function": ["index": .int(Int64(index)), "name": .string(name), "arguments": arguments]]
            if let id = call["id"] { translated["id"] = id }
            out.append(.object(translated))
        }
        return out
    }

    /// Ollama takes images as bare base64; OpenAI clients send data URLs.
    package static func imageData(_ url: String, param: String) throws(APIError) -> String {
        let lowered = url.prefix(64).lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            throw .badRequest("image URLs are not currently supported, please use base64 encoded data instead", param: param)
        }
        guard lowered.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else {
            throw .badRequest("invalid image input", param: param)
        }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma].lowercased()
        let allowed = ["image/jpeg", "image/jpg", "image/png", "image/webp", "image/gif", ""]
        let mediaType = header.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard header.hasSuffix(";base64") || header == "base64", allowed.contains(mediaType) else {
            throw .badRequest("invalid image input", param: param)
        }
        let payload = url[url.index(after: comma)...]
        guard !payload.isEmpty, payload.utf8.allSatisfy(isBase64Byte) else { throw .badRequest("invalid image input", param: param) }
        return String(payload)
    }

    private static func isBase64Byte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default: return false
        }
    }
}
