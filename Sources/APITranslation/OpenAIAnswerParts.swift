import WireFormats

/// The parts of an OpenAI chat answer (or stream chunk) every reshaping for another API reads the
/// same way (`OllamaAnswerFromOpenAI`, `AnthropicAnswerFromOpenAI`).
enum OpenAIAnswerParts {
    /// The reasoning an OpenAI-compatible endpoint sends beside the answer, under either name in use.
    static func reasoning(_ message: JSONValue?) -> String? {
        let text = message?["reasoning_content"]?.stringValue ?? message?["reasoning"]?.stringValue
        return text?.isEmpty == false ? text : nil
    }

    /// The token counts in an answer's or a chunk's `usage`, when it carries one.
    static func usage(_ value: JSONValue) -> (prompt: Int64?, completion: Int64?)? {
        guard let usage = value["usage"], !usage.isNull else { return nil }
        return (usage["prompt_tokens"]?.intValue, usage["completion_tokens"]?.intValue)
    }

    /// A tool call's arguments (a JSON string in OpenAI's answer) as the object Ollama's `arguments`
    /// and Anthropic's `input` are: an object sent as is, anything else that is no object as `{}`.
    static func argumentsObject(_ arguments: JSONValue?) -> JSONValue {
        switch arguments {
        case .string(let text)?:
            guard let parsed = try? JSONParser.parse(Array(text.utf8)), parsed.objectValue != nil else { return [:] }
            return parsed
        case .object(let object)?: return .object(object)
        default: return [:]
        }
    }
}
