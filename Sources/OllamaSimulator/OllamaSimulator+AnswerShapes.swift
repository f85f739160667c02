import Foundation
import WireFormats

/// The bytes of an answer in each API a simulated node speaks: a stream's chunk and the final object.
extension OllamaSimulator {
    func chunk(_ kind: InferenceKind, _ model: String, _ createdAt: String, token: String, first: Bool) -> [UInt8] {
        switch kind {
        case .chat:
            return configuration.encoding.line([
                "model": .string(model), "created_at": .string(createdAt), "message": ["role": "assistant", "content": .string(token)],
                "done": false,
            ])
        case .generate:
            return configuration.encoding.line([
                "model": .string(model), "created_at": .string(createdAt), "response": .string(token), "done": false,
            ])
        case .openAICompletion:
            return sse(completionChunk(model, text: token, finish: nil))
        case .openAIChat, .transcription:
            let delta: JSONObject = first ? ["role": "assistant", "content": .string(token)] : ["content": .string(token)]
            return sse(openAIChunk(model, delta: delta, finish: nil))
        case .anthropic:
            return responsesEvent("content_block_delta", ["index": 0, "delta": ["type": "text_delta", "text": .string(token)]])
        case .responses:
            return responsesEvent(
                "response.output_text.delta", ["item_id": "msg_42", "output_index": 0, "content_index": 0, "delta": .string(token)])
        }
    }

    func sse(_ value: JSONValue) -> [UInt8] {
        Array("data: ".utf8) + configuration.encoding.encode(value) + Array("\n\n".utf8)
    }

    func openAIChunk(_ model: String, delta: JSONObject, finish: JSONValue) -> JSONValue {
        [
            "id": "chatcmpl-42", "object": "chat.completion.chunk", "created": .int(Int64(Date().timeIntervalSince1970)),
            "model": .string(model), "system_fingerprint": "fp_ollama",
            "choices": [["index": 0, "delta": .object(delta), "finish_reason": finish]],
        ]
    }

    /// A `/v1/completions` object, a stream's chunk or (with usage) the whole answer.
    func completionChunk(_ model: String, text: String, finish: JSONValue, metrics: Metrics? = nil) -> JSONValue {
        var object: JSONObject = [
            "id": "cmpl-42", "object": "text_completion", "created": .int(Int64(Date().timeIntervalSince1970)), "model": .string(model),
            "system_fingerprint": "fp_ollama", "choices": [["text": .string(text), "index": 0, "finish_reason": finish]],
        ]
        if let metrics {
            object["usage"] = [
                "prompt_tokens": .int(Int64(metrics.promptTokens)), "completion_tokens": .int(Int64(metrics.evalTokens)),
                "total_tokens": .int(Int64(metrics.promptTokens + metrics.evalTokens)),
            ]
        }
        return .object(object)
    }

    func finalObject(_ kind: InferenceKind, _ model: String, _ createdAt: String, text: String, reason: String, metrics: Metrics)
        -> JSONValue
    {
        if kind == .responses { return responseObject(model, status: "completed", text: text, metrics: metrics) }
        if kind == .anthropic { return anthropicMessage(model, text: text, metrics: metrics, stopped: true, reason: reason) }
        if kind == .openAICompletion { return completionChunk(model, text: text, finish: .string(reason), metrics: metrics) }
        if kind == .openAIChat {
            return [
                "id": "chatcmpl-42", "object": "chat.completion", "created": .int(Int64(Date().timeIntervalSince1970)),
                "model": .string(model), "system_fingerprint": "fp_ollama",
                "choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": .string(reason)]],
                "usage": [
                    "prompt_tokens": .int(Int64(metrics.promptTokens)), "completion_tokens": .int(Int64(metrics.evalTokens)),
                    "total_tokens": .int(Int64(metrics.promptTokens + metrics.evalTokens)),
                ],
            ]
        }
        var object: JSONObject = ["model": .string(model), "created_at": .string(createdAt)]
        if kind == .chat {
            object["message"] = ["role": "assistant", "content": .string(text)]
        } else {
            object["response"] = .string(text)
        }
        object["done"] = true
        object["done_reason"] = .string(reason)
        if kind == .generate { object["context"] = [1, 2, 3] }
        let scale = configuration.reportedDurationScale
        func reported(_ nanos: Int64) -> JSONValue { .int(scale == 1 ? nanos : Int64(Double(nanos) * scale)) }
        object["total_duration"] = reported(metrics.totalNanos)
        object["load_duration"] = reported(metrics.loadDuration)
        object["prompt_eval_count"] = .int(Int64(metrics.promptTokens))
        object["prompt_eval_duration"] = reported(metrics.promptNanos)
        object["eval_count"] = .int(Int64(metrics.evalTokens))
        object["eval_duration"] = reported(metrics.evalNanos)
        return .object(object)
    }
}
