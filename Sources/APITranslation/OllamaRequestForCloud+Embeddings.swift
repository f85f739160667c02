import WireFormats

extension OllamaRequestForCloud {
    /// `/api/embed`'s OpenAI `/embeddings` fields besides `model`: its `input` (a string or a list of
    /// strings) and `dimensions`. Ollama's `truncate` and `options` have no OpenAI equivalent and are
    /// left out; the vectors are asked for as floats, which Ollama's answer carries.
    package static func embedFields(_ request: JSONObject) throws(APIError) -> JSONObject {
        var out: JSONObject = ["encoding_format": "float"]
        switch request["input"] {
        case .string(let text)?: out["input"] = .string(text)
        case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }): out["input"] = .array(items)
        default: throw APIError(status: 400, "invalid input type")
        }
        if let dimensions = request["dimensions"], !dimensions.isNull {
            guard let count = dimensions.intValue, count > 0 else {
                throw APIError(status: 400, "dimensions must be a positive integer")
            }
            out["dimensions"] = .int(count)
        }
        return out
    }

    /// The legacy `/api/embeddings`' OpenAI `/embeddings` fields besides `model`: its `prompt` as the input.
    package static func legacyEmbeddingFields(_ request: JSONObject) throws(APIError) -> JSONObject {
        guard let prompt = request["prompt"]?.stringValue else {
            let type = request["prompt"]?.goTypeName ?? "null"
            throw APIError(status: 400, "json: cannot unmarshal \(type) into Go struct field EmbeddingRequest.prompt of type string")
        }
        return ["input": .string(prompt), "encoding_format": "float"]
    }

    /// A request that only loads the model (Ollama answers it with no vectors): no input, an empty
    /// string or an empty list. Only the farm serves those; a cloud has nothing to load.
    package static func embedLoadsOnly(_ request: JSONObject, legacy: Bool) -> Bool {
        switch request[legacy ? "prompt" : "input"] {
        case nil, .null?: return true
        case .string(let text)?: return text.isEmpty
        case .array(let items)?: return items.isEmpty
        default: return false
        }
    }
}
