import Foundation
import HTTP1
import WireFormats

extension OllamaSimulator {
    enum InferenceKind { case chat, generate, openAIChat, openAICompletion, responses, anthropic, transcription }

    /// A request whose load never ends: it waits until the client gives up.
    func hangUntilCancelled() async {
        while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
    }

    static let words = ["Hello", " from", " a", " simulated", " Ollama", " node", ".", " How", " can", " I", " help", "?"]

    func inference(_ request: HTTPRequest, _ writer: HTTPResponseWriter, kind: InferenceKind) async {
        let openAI = [.openAIChat, .openAICompletion, .responses, .anthropic, .transcription].contains(kind)
        guard !request.body.isEmpty else {
            return await respondError(writer, 400, openAI ? "invalid request" : "missing request body", openAI: openAI)
        }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body) } catch {
            return await respondError(writer, 400, "\(error)", openAI: openAI)
        }
        guard body.objectValue != nil else {
            return await respondError(
                writer, 400, "json: cannot unmarshal \(body.goTypeName) into Go value of type api.ChatRequest", openAI: openAI)
        }
        let modelName = body["model"]?.stringValue ?? ""
        if modelName.isEmpty {
            if kind == .generate { return await respondError(writer, 404, "model '' not found") }
            return await respondError(writer, 400, "model is required", openAI: openAI)
        }
        guard let model = find(modelName) else {
            return await respondError(writer, 404, "model '\(modelName)' not found", openAI: openAI)
        }
        if !openAI, let options = body["options"], !options.isNull, options.objectValue == nil {
            let request = kind == .chat ? "ChatRequest" : "GenerateRequest"
            return await respondError(
                writer, 400,
                "json: cannot unmarshal \(options.goTypeName) into Go struct field \(request).options of type map[string]interface {}")
        }
        var keepAlive: Double?
        if let value = body["keep_alive"] {
            switch KeepAliveValue.seconds(value) {
            case .success(let seconds): keepAlive = seconds
            case .failure(let invalid): return await respondError(writer, 400, invalid.message, openAI: openAI)
            }
        }
        let stream = body["stream"]?.boolValue ?? !openAI
        let messages: [JSONValue]
        switch kind {
        case .responses: messages = Self.responsesMessages(body)
        case .anthropic: messages = Self.anthropicMessages(body)
        default: messages = body["messages"]?.arrayValue ?? []
        }
        let prompt = body["prompt"]?.stringValue ?? ""
        let isLoadOnly = Self.isLoadOnly(body, path: request.path)
        if kind == .openAIChat && messages.isEmpty {
            return await respondError(writer, 400, "[] is too short - 'messages'", openAI: true)
        }
        if fault == .busy503 {
            return await respondError(writer, 503, "server busy, please try again.  maximum pending requests exceeded", openAI: openAI)
        }
        if fault == .error500 {
            return await respondError(
                writer, 500,
                "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details",
                openAI: openAI)
        }

        // Ollama's unload: the runner expires once idle (at once when it is), and nothing is loaded.
        if isLoadOnly && keepAlive == 0 {
            countLoadOnly(String(request.path))
            await scheduler.expire(model)
            var final: JSONObject = ["model": .string(modelName), "created_at": .string(Self.timestamp())]
            if kind == .chat { final["message"] = ["role": "assistant", "content": ""] } else { final["response"] = "" }
            final["done"] = true
            final["done_reason"] = "unload"
            return await respondJSON(writer, 200, .object(final))
        }
        if fault == .loadsHang, !(await scheduler.isLoaded(model)) { return await hangUntilCancelled() }
        let started = ContinuousClock.now
        // A request that went away during its load aborted it: there is nobody to answer.
        guard
            let loadDuration = await scheduler.acquire(
                model, keepAlive: keepAlive, contextLength: body["options"]?["num_ctx"]?.intValue.map(Int.init))
        else { return }
        var releaseModel = true
        defer {
            if releaseModel { Task { [scheduler] in await scheduler.release(model) } }
        }
        if Task.isCancelled { return }
        let echoModel = modelName
        let createdAt = Self.timestamp()

        if isLoadOnly {
            countLoadOnly(String(request.path))
            releaseModel = false
            await scheduler.release(model)
            let reason = "load"
            var final: JSONObject = ["model": .string(echoModel), "created_at": .string(createdAt)]
            if kind == .chat { final["message"] = ["role": "assistant", "content": ""] } else { final["response"] = "" }
            final["done"] = true
            final["done_reason"] = .string(reason)
            return await respondJSON(writer, 200, .object(final))
        }

        let promptText = Self.promptText(kind: kind, prompt: prompt, messages: messages)
        let promptTokens = max(1, promptText.utf8.count / 4)
        // Ollama's prompt cache: a prompt extending a sequence this runner just processed only evaluates the new part.
        let cachedTokens = await scheduler.cachedPrefixLength(model, prompt: promptText) / 4
        answerStarted()
        defer { answerEnded() }
        let slowdown = self.slowdown
        let promptEval = Double(max(1, promptTokens - cachedTokens)) / configuration.promptTokensPerSecond * slowdown * gpuShareFactor
        if configuration.uncountedSecondsPerAnswer > 0 {
            try? await Task.sleep(for: await scheduler.seconds(configuration.uncountedSecondsPerAnswer))
        }
        try? await Task.sleep(for: await scheduler.seconds(promptEval))
        let limit = (body["options"]?["num_predict"]?.intValue ?? body["max_tokens"]?.intValue ?? body["max_output_tokens"]?.intValue)
            .map { Int($0) }
        let structured = Self.requestedFormat(body).map(Self.structuredTokens)
        let fullLength = structured?.count ?? configuration.responseTokens
        let count = limit.map { $0 > 0 ? min($0, fullLength) : fullLength } ?? fullLength
        let doneReason = (limit.map { $0 > 0 && $0 < fullLength } ?? false) ? "length" : "stop"
        let tokenDelay = await scheduler.seconds(slowdown / configuration.tokensPerSecond)

        let tokens = structured.map { Array($0.prefix(count)) } ?? (0..<count).map { Self.words[$0 % Self.words.count] }
        let answerText = tokens.joined()
        await scheduler.remember(model, sequence: promptText + "assistant: " + answerText + "\n")
        var metrics = Metrics(
            loadDuration: max(loadDuration, 1), promptTokens: promptTokens, promptNanos: Int64(promptEval * configuration.timeScale * 1e9),
            evalTokens: count, evalNanos: 0, totalNanos: 0)
        let generationStarted = ContinuousClock.now
        func finishMetrics() {
            metrics.evalNanos = Self.nanos(generationStarted.duration(to: .now))
            metrics.totalNanos = Self.nanos(started.duration(to: .now))
        }

        // A model given tools answers a user's turn with a call to the first tool, as tool-capable models do.
        if kind == .chat, let tool = body["tools"]?.arrayValue?.first, messages.last?["role"]?.stringValue == "user" {
            let function = tool["function"]
            let properties = function?["parameters"]?["properties"]?.objectValue.map { Array($0.keys) } ?? []
            let call: JSONValue = [
                "function": [
                    "name": function?["name"] ?? "", "arguments": .object(JSONObject(properties.map { (key: $0, value: "Paris") })),
                ]
            ]
            finishMetrics()
            var final = finalObject(kind, echoModel, createdAt, text: "", reason: "stop", metrics: metrics)
            if case .object(var fields) = final {
                fields["message"] = ["role": "assistant", "content": "", "tool_calls": [call]]
                final = .object(fields)
            }
            if !stream { return await respondJSON(writer, 200, final) }
            guard (try? await writer.start(status: 200, headers: ["Content-Type": "application/x-ndjson"])) != nil else { return }
            var lines = configuration.encoding.line([
                "model": .string(echoModel), "created_at": .string(createdAt),
                "message": ["role": "assistant", "content": "", "tool_calls": [call]], "done": false,
            ])
            if case .object(var fields) = final {
                fields["message"] = ["role": "assistant", "content": ""]
                lines += configuration.encoding.line(.object(fields))
            }
            try? await writeAnswer(lines, to: writer)
            try? await writer.finish()
            return
        }

        if !stream {
            try? await Task.sleep(for: tokenDelay * (Double(count) * gpuShareFactor))
            if Task.isCancelled { return }
            finishMetrics()
            if kind == .transcription {
                return await respondTranscription(writer, text: answerText, format: body["response_format"]?.stringValue)
            }
            return await respondJSON(
                writer, 200, finalObject(kind, echoModel, createdAt, text: answerText, reason: doneReason, metrics: metrics))
        }

        let contentType = openAI ? "text/event-stream" : "application/x-ndjson"
        do {
            try await writer.start(status: 200, headers: ["Content-Type": contentType])
            if kind == .anthropic {
                try await writeAnswer(
                    responsesEvent("message_start", ["message": anthropicMessage(echoModel, text: "", metrics: metrics, stopped: false)]),
                    to: writer)
                try await writeAnswer(
                    responsesEvent("content_block_start", ["index": 0, "content_block": ["type": "text", "text": ""]]), to: writer)
            }
            if kind == .responses {
                try await writeAnswer(
                    responsesEvent("response.created", ["response": responseObject(echoModel, status: "in_progress")]), to: writer)
            }
            // Each token is due at a fixed offset from the first, as a GPU generates at a steady rate. A
            // sleep of one token's time after each write drifts by each sleep's overshoot: at 3.3 ms a
            // token (60 tokens/s, time scaled by 0.2) 64 sleeps took 6 % long on an idle host, the
            // placement benchmark's pace read 1.13 where 1.05 is nominal, and every load it offered was
            // that much heavier than its label.
            // On a shared GPU (`sharedGPUAnswers`) each token's time is what the GPU's share is as
            // it is due, so the offsets add up token by token.
            var due = ContinuousClock.now
            for index in 0..<count {
                due = due + tokenDelay * gpuShareFactor
                try await Task.sleep(until: due, clock: .continuous)
                if fault == .dropMidStream && index == 2 {
                    writer.abortConnection()
                    return
                }
                // Ollama stamps each chunk when it is written; benchmarks read the stamp to time the proxy.
                try await writeAnswer(
                    chunk(kind, echoModel, Self.timestamp(), token: tokens[index], first: index == 0), to: writer)
                // A held stream pauses after its first token, so a test can see it arrive before the rest exists.
                if index == 0 && streamsHeld {
                    while streamsHeld { try await Task.sleep(for: .milliseconds(2)) }
                    due = ContinuousClock.now  // the rest follow the hold at the usual pace
                }
            }
            finishMetrics()
            if kind == .anthropic {
                try await writeAnswer(responsesEvent("content_block_stop", ["index": 0]), to: writer)
                let usage: JSONValue = [
                    "input_tokens": .int(Int64(metrics.promptTokens)), "output_tokens": .int(Int64(metrics.evalTokens)),
                ]
                let stop: JSONValue = doneReason == "length" ? "max_tokens" : "end_turn"
                try await writeAnswer(responsesEvent("message_delta", ["delta": ["stop_reason": stop], "usage": usage]), to: writer)
                try await writeAnswer(responsesEvent("message_stop", [:]), to: writer)
            } else if kind == .responses {
                let done = responseObject(echoModel, status: "completed", text: answerText, metrics: metrics)
                try await writeAnswer(responsesEvent("response.completed", ["response": done]), to: writer)
            } else if kind == .openAICompletion {
                try await writeAnswer(sse(completionChunk(echoModel, text: "", finish: .string(doneReason))), to: writer)
                try await writeAnswer(Array("data: [DONE]\n\n".utf8), to: writer)
            } else if openAI {
                try await writeAnswer(sse(openAIChunk(echoModel, delta: [:], finish: .string(doneReason))), to: writer)
                // Asked for, the counts come in a last chunk with no choices, as OpenAI's and Ollama's `/v1` send them.
                if body["stream_options"]?["include_usage"]?.boolValue == true {
                    var usage = openAIChunk(echoModel, delta: [:], finish: .null)
                    if case .object(var fields) = usage {
                        fields["choices"] = []
                        fields["usage"] = [
                            "prompt_tokens": .int(Int64(metrics.promptTokens)), "completion_tokens": .int(Int64(metrics.evalTokens)),
                            "total_tokens": .int(Int64(metrics.promptTokens + metrics.evalTokens)),
                        ]
                        usage = .object(fields)
                    }
                    try await writeAnswer(sse(usage), to: writer)
                }
                try await writeAnswer(Array("data: [DONE]\n\n".utf8), to: writer)
            } else {
                let line = configuration.encoding.line(
                    finalObject(kind, echoModel, createdAt, text: "", reason: doneReason, metrics: metrics))
                try await writeAnswer(line, to: writer)
            }
            while streamEndsHeld { try await Task.sleep(for: .milliseconds(2)) }
            try await writer.finish()
        } catch {
            return  // the client went away; `defer` frees the slot
        }
    }

    /// The text a runner evaluates: each message as "role: content" on its own line.
    static func promptText(kind: InferenceKind, prompt: String, messages: [JSONValue]) -> String {
        if kind == .generate || kind == .openAICompletion { return prompt }
        return messages.map { "\($0["role"]?.stringValue ?? "user"): \($0["content"]?.stringValue ?? "")\n" }.joined()
    }

    struct Metrics {
        var loadDuration: Int64
        var promptTokens: Int
        var promptNanos: Int64
        var evalTokens: Int
        var evalNanos: Int64
        var totalNanos: Int64
    }

    static func nanos(_ duration: Duration) -> Int64 {
        duration.wholeNanoseconds
    }

    /// Now as RFC 3339 UTC with microseconds (Ollama prints nanoseconds).
    static func timestamp() -> String { UTCTimestamp.now(fractionDigits: 6) }
}

/// The words a simulated node answers with, in order (a client replaying a conversation needs them).
public enum OllamaSimulatorWords {
    public static func word(_ index: Int) -> String { OllamaSimulator.words[index % OllamaSimulator.words.count] }
}
