import WireFormats

/// Answers in the shape a request's `format` asks for, as Ollama's constrained sampling does:
/// `"json"` gives a JSON object, a JSON schema an instance of it. Clients that parse the answer
/// (the `openai` package's `parse`, a Pydantic model's schema sent with the `ollama` package) fail
/// on plain words, so a proxy that lost the format on the way fails their checks.
extension OllamaSimulator {
    /// The format a request asks for: Ollama's `format`, OpenAI's `response_format` (`json_object`,
    /// `json_schema`), or the Responses API's `text.format`; nil for free text.
    static func requestedFormat(_ body: JSONValue) -> JSONValue? {
        if let format = body["format"], format != .null, format != "" { return format }
        guard let format = body["response_format"] ?? body["text"]?["format"] else { return nil }
        switch format["type"]?.stringValue {
        case "json_object": return "json"
        case "json_schema": return format["json_schema"]?["schema"] ?? format["schema"]
        default: return nil
        }
    }

    /// The answer for `format` in pieces of a few characters, as tokens come.
    static func structuredTokens(_ format: JSONValue) -> [String] {
        let schema: JSONValue = format == "json" ? ["type": "object", "properties": ["answer": ["type": "string"]]] : format
        let text = Array(instance(of: schema, definitions: schema["$defs"] ?? schema["definitions"], depth: 0).serializedString())
        return stride(from: 0, to: text.count, by: 4).map { String(text[$0..<min($0 + 4, text.count)]) }
    }

    /// A value `schema` accepts: each property of an object (required or not), one item of an
    /// array, an enum's first choice, a `$ref`'s definition, the first of `anyOf` that is not null.
    static func instance(of schema: JSONValue, definitions: JSONValue?, depth: Int) -> JSONValue {
        guard depth < 16 else { return .null }
        if let reference = schema["$ref"]?.stringValue, let name = reference.split(separator: "/").last,
            let definition = definitions?[String(name)]
        {
            return instance(of: definition, definitions: definitions, depth: depth + 1)
        }
        if let constant = schema["const"] { return constant }
        if let first = schema["enum"]?.arrayValue?.first { return first }
        if let choices = (schema["anyOf"] ?? schema["oneOf"])?.arrayValue,
            let choice = choices.first(where: { $0["type"] != "null" }) ?? choices.first
        {
            return instance(of: choice, definitions: definitions, depth: depth + 1)
        }
        let type = schema["type"]?.stringValue ?? schema["type"]?.arrayValue?.first(where: { $0 != "null" })?.stringValue
        switch type {
        case "string": return "Paris"
        case "integer": return 42
        case "number": return 4.5
        case "boolean": return true
        case "null": return .null
        case "array": return [instance(of: schema["items"] ?? ["type": "string"], definitions: definitions, depth: depth + 1)]
        default:
            let properties = schema["properties"]?.objectValue ?? [:]
            return .object(
                JSONObject(properties.map { (key: $0.key, value: instance(of: $0.value, definitions: definitions, depth: depth + 1)) }))
        }
    }
}
