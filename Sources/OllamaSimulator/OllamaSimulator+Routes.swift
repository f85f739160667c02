import Foundation
import HTTP1
import WireFormats

extension OllamaSimulator {
    func handle(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        if request.method == "POST" && request.path == "/_sim/fault" {
            // Not Ollama's: lets a soak test switch faults in a running ollama-sim process.
            guard let name = try? JSONParser.parse(request.body)["fault"]?.stringValue, let newFault = SimulatorFault(rawValue: name) else {
                return await respondError(writer, 400, "expected {\"fault\": \"none|hang|error500|busy503|dropMidStream\"}")
            }
            setFault(newFault)
            return await respondJSON(writer, 200, ["fault": .string(name)])
        }
        let fault = record(request)
        if fault == .hang {
            while self.fault == .hang, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
            if Task.isCancelled { return }
        }
        let path = request.path
        if configuration.absentPaths.contains(String(path)) {
            try? await writer.respond(status: 404, headers: ["Content-Type": "text/plain"], body: Array("404 page not found".utf8))
            return
        }
        switch (request.method, path) {
        case ("GET", "/"), ("HEAD", "/"):
            try? await writer.respond(
                status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("Ollama is running".utf8))
        case ("GET", "/api/version"), ("HEAD", "/api/version"):
            await respondJSON(writer, 200, ["version": .string(configuration.version)])
        case ("GET", "/api/status") where configuration.cloudDisabled != nil:
            let cloud: JSONValue = ["disabled": .bool(configuration.cloudDisabled!), "source": .string(configuration.cloudSwitchSource)]
            await respondJSON(writer, 200, ["cloud": cloud])
        case ("GET", "/api/tags"), ("HEAD", "/api/tags"):
            await respondJSON(writer, 200, ["models": .array(models.map(tagEntry))])
        case ("GET", "/api/ps"):
            let loaded = await scheduler.loaded()
            await respondJSON(writer, 200, ["models": .array(loaded.map(psEntry))])
        case ("POST", "/api/chat"):
            await inference(request, writer, kind: .chat)
        case ("POST", "/api/generate"):
            await inference(request, writer, kind: .generate)
        case ("POST", "/v1/chat/completions"):
            await inference(request, writer, kind: .openAIChat)
        case ("POST", "/v1/responses"):
            await inference(request, writer, kind: .responses)
        case ("POST", "/v1/audio/transcriptions"):
            await transcription(request, writer)
        case ("POST", "/v1/messages"):
            await inference(request, writer, kind: .anthropic)
        case ("POST", "/api/embed"):
            await embed(request, writer, shape: .embed)
        case ("POST", "/api/embeddings"):
            await embed(request, writer, shape: .legacy)
        case ("POST", "/v1/embeddings"):
            await embed(request, writer, shape: .openAI)
        case ("POST", "/v1/completions"):
            await inference(request, writer, kind: .openAICompletion)
        case ("POST", "/api/show"):
            await show(request, writer)
        case ("POST", "/api/pull"):
            await pull(request, writer)
        case ("DELETE", "/api/delete"):
            await delete(request, writer)
        case ("POST", "/api/copy"):
            await copy(request, writer)
        case ("POST", "/api/create"):
            await create(request, writer)
        case ("POST", "/api/push"):
            await push(request, writer)
        case ("HEAD", let path) where path.hasPrefix("/api/blobs/"):
            await headBlob(String(path.dropFirst("/api/blobs/".count)), writer)
        case ("POST", let path) where path.hasPrefix("/api/blobs/"):
            await createBlob(String(path.dropFirst("/api/blobs/".count)), body: request.body, writer)
        case (_, "/api/delete"), (_, "/api/copy"), (_, "/api/create"), (_, "/api/push"),
            (_, "/"), (_, "/api/version"), (_, "/api/tags"), (_, "/api/ps"), (_, "/api/chat"), (_, "/api/generate"),
            (_, "/v1/chat/completions"):
            try? await writer.respond(status: 405, headers: ["Content-Type": "text/plain"], body: Array("405 method not allowed".utf8))
        default:
            try? await writer.respond(status: 404, headers: ["Content-Type": "text/plain"], body: Array("404 page not found".utf8))
        }
    }

    /// Now on this node's clock (`clockOffsetSeconds`), seconds since 1970.
    var clockNow: Double { Date().timeIntervalSince1970 + configuration.clockOffsetSeconds }

    func respondJSON(_ writer: HTTPResponseWriter, _ status: Int, _ value: JSONValue) async {
        let encoding = configuration.encoding
        var headers: HTTPHeaders = ["Content-Type": "application/json; charset=utf-8"]
        // The server writes the machine's Date on every answer; a node whose clock is off writes its own.
        if configuration.clockOffsetSeconds != 0 { headers.add("Date", HTTPDate.format(clockNow)) }
        guard encoding.splitsEveryByte else {
            try? await writer.respond(status: status, headers: headers, body: encoding.encode(value))
            return
        }
        guard (try? await writer.start(status: status, headers: headers)) != nil else { return }
        try? await writeAnswer(encoding.encode(value), to: writer)
        try? await writer.finish()
    }

    /// Writes part of a streamed answer: whole, or a byte per HTTP chunk under `bytePerChunk`.
    func writeAnswer(_ bytes: [UInt8], to writer: HTTPResponseWriter) async throws {
        guard configuration.encoding.splitsEveryByte else { return try await writer.write(bytes) }
        for byte in bytes { try await writer.write([byte]) }
    }

    func respondError(_ writer: HTTPResponseWriter, _ status: Int, _ message: String, openAI: Bool = false) async {
        if openAI {
            let type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error" : "api_error"
            await respondJSON(
                writer, status, ["error": ["message": .string(message), "type": .string(type), "param": nil, "code": nil]])
        } else {
            await respondJSON(writer, status, ["error": .string(message)])
        }
    }

    func tagEntry(_ model: SimulatedModel) -> JSONValue {
        [
            "name": .string(model.name), "model": .string(model.name), "modified_at": .string(model.modifiedAt),
            "size": .int(model.sizeBytes), "digest": .string(model.digest),
            "details": [
                "parent_model": "", "format": "gguf", "family": .string(model.family), "families": [.string(model.family)],
                "parameter_size": .string(model.parameterSize), "quantization_level": .string(model.quantization),
            ],
        ]
    }

    private func psEntry(_ info: SimulatedScheduler.LoadedInfo) -> JSONValue {
        // Ollama prints expires_at in the server's local zone with an offset; "forever" is ~292 years ahead.
        let seconds = info.expiresIn ?? 292 * 365 * 86400
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(secondsFromGMT: -7 * 3600)
        return [
            "name": .string(info.model.name), "model": .string(info.model.name), "size": .int(info.runnerBytes),
            "digest": .string(info.model.digest),
            "details": [
                "parent_model": "", "format": "gguf", "family": .string(info.model.family), "families": [.string(info.model.family)],
                "parameter_size": .string(info.model.parameterSize), "quantization_level": .string(info.model.quantization),
            ],
            "expires_at": .string(formatter.string(from: Date(timeIntervalSince1970: clockNow + seconds))),
            "size_vram": .int(info.runnerBytes), "context_length": .int(Int64(info.contextLength)),
        ]
    }
}
