import Balancer
import WireFormats

/// Ollama `/api/generate` answers as OpenAI legacy completions (`text_completion`), whole or as
/// server-sent events ending in `data: [DONE]`.
package struct TextCompletionTranslation: StreamTranslator {
    package let id: String
    package let created: Int64
    package let model: String
    package let includeUsage: Bool

    package init(id: String, created: Int64, model: String, includeUsage: Bool) {
        self.id = id
        self.created = created
        self.model = model
        self.includeUsage = includeUsage
    }

    package var streamContentType: String { "text/event-stream" }

    /// A legacy completion's `logprobs: N` as Ollama's `/v1` sends it on: log probabilities with the
    /// top `N` of each token when `N` is above 0 (none at 0 or below), and `/api/generate`'s own
    /// limit of 20 refused before a node is asked. Ollama's answer leaves them out of the choices,
    /// and so do these (no `logprobs` key, as Ollama writes a choice).
    package static func logprobs(_ request: JSONObject, into out: inout JSONObject) throws(APIError) {
        guard let value = request["logprobs"], !value.isNull else { return }
        guard let count = value.intValue else { throw .badRequest("logprobs must be an integer", param: "logprobs") }
        guard count > 0 else { return }
        guard count <= 20 else { throw .badRequest("top_logprobs must be between 0 and 20", param: "logprobs") }
        out["logprobs"] = .bool(true)
        out["top_logprobs"] = .int(count)
    }

    package mutating func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] {
        let body: JSONValue = [
            "id": .string(id), "object": "text_completion", "created": .int(created), "model": .string(model),
            "system_fingerprint": "fp_ollama",
            "choices": [
                [
                    "text": .string(answer["response"]?.stringValue ?? ""), "index": 0,
                    "finish_reason": finishReason(answer),
                ]
            ],
            "usage": usage(answer),
        ]
        return body.serialized()
    }

    package mutating func events(for line: JSONValue) -> [UInt8] {
        var out = [UInt8]()
        let done = line["done"]?.boolValue == true
        let text = line["response"]?.stringValue ?? ""
        if !text.isEmpty || done {
            append(
                chunk(choices: [["text": .string(text), "index": 0, "finish_reason": done ? finishReason(line) : nil]]),
                to: &out)
        }
        if done {
            if includeUsage, case .object(var object) = chunk(choices: []) {
                object["usage"] = usage(line)
                append(.object(object), to: &out)
            }
            out.append(contentsOf: ChatResponseTranslation.done)
        }
        return out
    }

    package func errorEvent(_ message: String) -> [UInt8] { ChatResponseTranslation.errorEvent(message) }

    package static func makeID<R: RandomNumberGenerator>(using random: inout R) -> String {
        ChatResponseTranslation.makeID(prefix: "cmpl-", using: &random)
    }

    private func chunk(choices: [JSONValue]) -> JSONValue {
        [
            "id": .string(id), "object": "text_completion", "created": .int(created), "model": .string(model),
            "system_fingerprint": "fp_ollama", "choices": .array(choices),
        ]
    }

    private func append(_ value: JSONValue, to out: inout [UInt8]) { ChatResponseTranslation.appendEvent(value, to: &out) }

    private func finishReason(_ answer: JSONValue) -> JSONValue {
        guard let reason = answer["done_reason"]?.stringValue, !reason.isEmpty, reason != "load", reason != "unload" else {
            return answer["done"]?.boolValue == true ? "stop" : .null
        }
        return .string(reason)
    }

    private func usage(_ answer: JSONValue) -> JSONValue { ChatResponseTranslation.usage(answer) }
}

/// Ollama `/api/embed` answers as OpenAI `/v1/embeddings` lists, as floats or base64 of
/// little-endian float32 (`encoding_format`).
package struct EmbeddingTranslation: AnswerTranslator {
    package let model: String
    package let base64: Bool

    package init(model: String, base64: Bool) {
        self.model = model
        self.base64 = base64
    }

    package var streamContentType: String { "text/event-stream" }  // never streamed

    package func completion(from answer: JSONValue, raw: [UInt8]) -> [UInt8] {
        let vectors = answer["embeddings"]?.arrayValue ?? []
        let data: [JSONValue] = vectors.enumerated().map { index, vector in
            let embedding: JSONValue = base64 ? .string(Self.base64Float32(vector.arrayValue ?? [])) : vector
            return ["object": "embedding", "embedding": embedding, "index": .int(Int64(index))]
        }
        let tokens = answer["prompt_eval_count"]?.intValue ?? 0
        let body: JSONValue = [
            "object": "list", "data": .array(data), "model": .string(model),
            "usage": ["prompt_tokens": .int(tokens), "total_tokens": .int(tokens)],
        ]
        return body.serialized()
    }

    package func errorEvent(_ message: String) -> [UInt8] { ChatResponseTranslation.errorEvent(message) }

    package static func base64Float32(_ values: [JSONValue]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            let bits = Float(value.doubleValue ?? 0).bitPattern
            bytes.append(contentsOf: [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)])
        }
        return Base64.encode(bytes)
    }
}
