import WireFormats

/// Turns a cloud endpoint's OpenAI chat answer into Ollama's `/api/chat` or `/api/generate` answer,
/// for the Ollama client a route sent to the cloud tier: one object for a whole answer, NDJSON lines
/// for a stream, with the tool calls' arguments as objects and the token counts in Ollama's fields.
/// A stream's tool calls come in fragments (the arguments a few characters at a time), so they are
/// gathered and sent whole on one line before the last, as Ollama sends them.
package struct OllamaAnswerFromOpenAI: Sendable {
    /// The model as the client named it: what Ollama echoes.
    package let model: String
    /// A generate's answer: the text in `response` (and the reasoning in `thinking`) at the top
    /// level, where a chat's are in `message`.
    package let isGenerate: Bool
    /// Ollama's `created_at` for a line written now.
    private let timestamp: @Sendable () -> String
    /// Nanoseconds since the request began, for `total_duration`.
    private let elapsedNanoseconds: @Sendable () -> Int64
    private var finishReason: String?
    private var promptTokens: Int64 = 0
    private var completionTokens: Int64 = 0
    /// When the stream's first event came, in `elapsedNanoseconds`: where the prompt's evaluation
    /// ended and generation began, as far as TensorWall can see.
    private var firstEventNanoseconds: Int64?
    /// A stream's tool calls by their `index`, as their fragments add up.
    private var calls: [Int64: (id: String?, name: String, arguments: String)] = [:]

    package init(
        model: String, isGenerate: Bool = false, timestamp: @escaping @Sendable () -> String,
        elapsedNanoseconds: @escaping @Sendable () -> Int64
    ) {
        self.model = model
        self.isGenerate = isGenerate
        self.timestamp = timestamp
        self.elapsedNanoseconds = elapsedNanoseconds
    }

    /// Ollama's whole answer for OpenAI's `chat.completion`.
    package mutating func whole(_ answer: JSONValue) -> [UInt8] {
        let choice = answer["choices"]?[0]
        let message = choice?["message"]
        var out: JSONObject = ["role": "assistant", "content": .string(message?["content"]?.stringValue ?? "")]
        if let thinking = OpenAIAnswerParts.reasoning(message) { out["thinking"] = .string(thinking) }
        let toolCalls = (message?["tool_calls"]?.arrayValue ?? []).compactMap { call in
            call["function"].map {
                Self.ollamaCall(id: call["id"]?.stringValue, name: $0["name"]?.stringValue ?? "", arguments: $0["arguments"])
            }
        }
        if !toolCalls.isEmpty { out["tool_calls"] = .array(toolCalls) }
        finishReason = choice?["finish_reason"]?.stringValue
        readUsage(answer)
        var line = lineStart(message: .object(out))
        if let logprobs = Self.logprobs(choice) { line["logprobs"] = logprobs }
        finalFields(into: &line)
        return JSONValue.object(line).serialized()
    }

    /// The NDJSON lines for events of OpenAI's stream, in order (possibly none).
    package mutating func lines(for events: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        for event in events { out += lines(for: event) }
        return out
    }

    /// The NDJSON lines for one event of OpenAI's stream (possibly none).
    package mutating func lines(for event: JSONValue) -> [UInt8] {
        readUsage(event)
        guard let choice = event["choices"]?[0] else { return [] }
        if firstEventNanoseconds == nil { firstEventNanoseconds = elapsedNanoseconds() }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        let delta = choice["delta"]
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            // OpenAI numbers a call's fragments; a server that does not starts a call with its id and
            // sends the rest of it without one.
            let latest = calls.keys.max()
            let index = call["index"]?.intValue ?? (call["id"] == nil ? latest : nil) ?? (latest.map { $0 + 1 } ?? 0)
            var gathered = calls[index] ?? (id: nil, name: "", arguments: "")
            if let id = call["id"]?.stringValue { gathered.id = id }
            if let name = call["function"]?["name"]?.stringValue { gathered.name += name }
            if let part = call["function"]?["arguments"]?.stringValue { gathered.arguments += part }
            calls[index] = gathered
        }
        var message: JSONObject = ["role": "assistant", "content": .string(delta?["content"]?.stringValue ?? "")]
        if let thinking = OpenAIAnswerParts.reasoning(delta) { message["thinking"] = .string(thinking) }
        let logprobs = Self.logprobs(choice)
        guard message["content"]?.stringValue?.isEmpty == false || message["thinking"] != nil || logprobs != nil else { return [] }
        var line = lineStart(message: .object(message))
        if let logprobs { line["logprobs"] = logprobs }
        line["done"] = false
        return Self.ndjson(line)
    }

    /// The last lines of a stream that ended: the gathered tool calls, then `done` with the counts.
    package mutating func finish() -> [UInt8] {
        var out: [UInt8] = []
        if !calls.isEmpty && !isGenerate {
            let gathered = calls.keys.sorted().compactMap { calls[$0] }.map { call in
                Self.ollamaCall(id: call.id, name: call.name, arguments: call.arguments.isEmpty ? nil : .string(call.arguments))
            }
            var line = lineStart(message: ["role": "assistant", "content": "", "tool_calls": .array(gathered)])
            line["done"] = false
            out += Self.ndjson(line)
        }
        var line = lineStart(message: ["role": "assistant", "content": ""])
        finalFields(into: &line)
        out += Self.ndjson(line)
        return out
    }

    /// The tokens' log probabilities a choice carries, in Ollama's field: OpenAI's `logprobs.content`
    /// has the same entries (`token`, `logprob`, `bytes`, `top_logprobs`).
    private static func logprobs(_ choice: JSONValue?) -> JSONValue? {
        guard let tokens = choice?["logprobs"]?["content"], tokens.arrayValue?.isEmpty == false else { return nil }
        return tokens
    }

    /// Ollama's in-band error line, for a stream the cloud cut.
    package static func errorLine(_ message: String) -> [UInt8] { ndjson(["error": .string(message)]) }

    private func lineStart(message: JSONValue) -> JSONObject {
        var line: JSONObject = ["model": .string(model), "created_at": .string(timestamp())]
        guard isGenerate else {
            line["message"] = message
            return line
        }
        line["response"] = message["content"] ?? ""
        if let thinking = message["thinking"] { line["thinking"] = thinking }
        return line
    }

    private func finalFields(into line: inout JSONObject) {
        // OpenAI's `length` is Ollama's too; a stop, a tool call or a filter all end the turn as `stop`.
        line["done_reason"] = .string(finishReason == "length" ? "length" : "stop")
        line["done"] = true
        // The durations as TensorWall saw them, the cloud's network included: a stream's time to its
        // first event is the prompt's, the rest generation. A whole answer shows no split, so all of it
        // counts as generation. Left at 0, they made clients that print tokens per second (`ollama run
        // --verbose`, Open WebUI) divide by zero.
        let total = elapsedNanoseconds()
        let promptDuration = min(firstEventNanoseconds ?? 0, total)
        line["total_duration"] = .int(total)
        line["load_duration"] = 0
        line["prompt_eval_count"] = .int(promptTokens)
        line["prompt_eval_duration"] = .int(promptDuration)
        line["eval_count"] = .int(completionTokens)
        line["eval_duration"] = .int(total - promptDuration)
    }

    private mutating func readUsage(_ value: JSONValue) {
        guard let counts = OpenAIAnswerParts.usage(value) else { return }
        promptTokens = counts.prompt ?? promptTokens
        completionTokens = counts.completion ?? completionTokens
    }

    /// Ollama's tool call: the arguments as an object (OpenAI sends them as a JSON string).
    private static func ollamaCall(id: String?, name: String, arguments: JSONValue?) -> JSONValue {
        var call: JSONObject = ["function": ["name": .string(name), "arguments": OpenAIAnswerParts.argumentsObject(arguments)]]
        if let id { call["id"] = .string(id) }
        return .object(call)
    }

    private static func ndjson(_ line: JSONObject) -> [UInt8] {
        var out = JSONValue.object(line).serialized()
        out.append(10)
        return out
    }
}
