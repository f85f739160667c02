import Balancer
import WireFormats

/// Turns Ollama `/api/chat` answers into OpenAI chat completions: one object for a plain answer,
/// `chat.completion.chunk` server-sent events for a stream. One value per response, so every
/// chunk of a stream carries the same `id` and `created`.
package struct ChatResponseTranslation {
    package let id: String
    package let created: Int64
    package let model: String
    package let includeUsage: Bool
    private var sentRole = false
    private var sawToolCalls = false
    private var toolCallIndex = 0

    package init(model: String, includeUsage: Bool, created: Int64, id: String) {
        self.model = model
        self.includeUsage = includeUsage
        self.created = created
        self.id = id
    }

    package static func makeID<R: RandomNumberGenerator>(prefix: String = "chatcmpl-", using random: inout R) -> String {
        // Ten base-62 digits per 64-bit draw (62^10 < 2^64), not one generic `random(in:)` call per
        // character: this runs once per completion, and the unspecialised call was 3 % of the proxy's CPU.
        var id = [UInt8]()
        id.reserveCapacity(prefix.utf8.count + idLength)
        id.append(contentsOf: prefix.utf8)
        var bits: UInt64 = 0
        for index in 0..<idLength {
            if index % 10 == 0 { bits = random.next() }
            id.append(idAlphabet[Int(bits % 62)])
            bits /= 62
        }
        return String(decoding: id, as: UTF8.self)
    }

    private static let idLength = 24
    private static let idAlphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// A complete `chat.completion` from Ollama's non-streamed answer.
    package mutating func completion(from answer: JSONValue) -> JSONValue {
        var message: JSONObject = ["role": "assistant", "content": .string(answer["message"]?["content"]?.stringValue ?? "")]
        if let thinking = answer["message"]?["thinking"]?.stringValue, !thinking.isEmpty { message["reasoning"] = .string(thinking) }
        let calls = toolCalls(answer["message"]?["tool_calls"])
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        var choice: JSONObject = ["index": 0, "message": .object(message), "finish_reason": finishReason(answer)]
        if let logprobs = Self.logprobs(answer) { choice["logprobs"] = logprobs }
        return [
            "id": .string(id), "object": "chat.completion", "created": .int(created), "model": .string(model),
            "system_fingerprint": "fp_ollama", "choices": [.object(choice)], "usage": usage(answer),
        ]
    }

    /// The server-sent events for one NDJSON line of Ollama's stream (possibly none).
    package mutating func events(for line: JSONValue) -> [UInt8] {
        var out = [UInt8]()
        let message = line["message"]
        let content = message?["content"]?.stringValue ?? ""
        let thinking = message?["thinking"]?.stringValue ?? ""
        let calls = toolCalls(message?["tool_calls"])
        let logprobs = Self.logprobs(line)
        if !content.isEmpty || !thinking.isEmpty || !calls.isEmpty || logprobs != nil || (!sentRole && line["done"]?.boolValue != true) {
            var delta = JSONObject()
            if !sentRole {
                delta["role"] = "assistant"
                sentRole = true
            }
            delta["content"] = .string(content)
            if !thinking.isEmpty { delta["reasoning"] = .string(thinking) }
            if !calls.isEmpty { delta["tool_calls"] = .array(calls) }
            var choice: JSONObject = ["index": 0, "delta": .object(delta), "finish_reason": nil]
            if let logprobs { choice["logprobs"] = logprobs }
            append(chunk(choices: [.object(choice)]), to: &out)
        }
        if line["done"]?.boolValue == true {
            append(chunk(choices: [["index": 0, "delta": [:], "finish_reason": finishReason(line)]]), to: &out)
            if includeUsage {
                var usageChunk = chunk(choices: [])
                if case .object(var object) = usageChunk {
                    object["usage"] = usage(line)
                    usageChunk = .object(object)
                }
                append(usageChunk, to: &out)
            }
            out.append(contentsOf: Self.done)
        }
        return out
    }

    package static let done = Array("data: [DONE]\n\n".utf8)

    /// An in-band error event, for failures after the stream has started.
    package static func errorEvent(_ message: String) -> [UInt8] {
        var out = Array("data: ".utf8)
        APIError(status: 502, message).openAIBody.write(into: &out)
        out.append(contentsOf: [10, 10])
        return out
    }

    private func chunk(choices: [JSONValue]) -> JSONValue {
        [
            "id": .string(id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(model),
            "system_fingerprint": "fp_ollama", "choices": .array(choices),
        ]
    }

    /// One server-sent event carrying `value`.
    package static func appendEvent(_ value: JSONValue, to out: inout [UInt8]) {
        out.append(contentsOf: "data: ".utf8)
        value.write(into: &out)
        out.append(contentsOf: [10, 10])
    }

    private func append(_ value: JSONValue, to out: inout [UInt8]) { Self.appendEvent(value, to: &out) }

    private func finishReason(_ answer: JSONValue) -> JSONValue {
        guard let reason = answer["done_reason"]?.stringValue, !reason.isEmpty else {
            return answer["done"]?.boolValue == true ? (sawToolCalls ? "tool_calls" : "stop") : .null
        }
        if reason == "stop" && sawToolCalls { return "tool_calls" }
        if reason == "load" || reason == "unload" { return "stop" }
        return .string(reason)
    }

    private func usage(_ answer: JSONValue) -> JSONValue { Self.usage(answer) }

    /// A choice's `logprobs` from the tokens' log probabilities an Ollama answer (or stream line)
    /// carries when asked for them; nil when it carries none.
    private static func logprobs(_ answer: JSONValue) -> JSONValue? {
        guard let tokens = answer["logprobs"], let list = tokens.arrayValue, !list.isEmpty else { return nil }
        return ["content": tokens]
    }

    /// OpenAI's `usage` from Ollama's counters.
    package static func usage(_ answer: JSONValue) -> JSONValue {
        let prompt = answer["prompt_eval_count"]?.intValue ?? 0
        let completion = answer["eval_count"]?.intValue ?? 0
        return ["prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion)]
    }

    /// Ollama's tool calls (arguments as an object) in OpenAI's form (arguments as a JSON string).
    private mutating func toolCalls(_ value: JSONValue?) -> [JSONValue] {
        guard let calls = value?.arrayValue, !calls.isEmpty else { return [] }
        sawToolCalls = true
        var random = FastRandom()
        return calls.map { call in
            let function = call["function"]
            let index = toolCallIndex
            toolCallIndex += 1
            let arguments = function?["arguments"].map { $0.serializedString() } ?? "{}"
            let id = call["id"]?.stringValue ?? String(Self.makeID(prefix: "call_", using: &random).prefix(13))
            return [
                "id": .string(id), "index": .int(Int64(index)), "type": "function",
                "function": ["name": .string(function?["name"]?.stringValue ?? ""), "arguments": .string(arguments)],
            ]
        }
    }
}
