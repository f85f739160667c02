import HTTP1
import WireFormats

// Removing and copying models on the node's disk, with Ollama's answers: an empty 200 when done.
extension OllamaSimulator {
    /// The request's JSON object, or nil once Ollama's 400 for a body that is not one is sent.
    private func objectBody(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async -> JSONValue? {
        guard !request.body.isEmpty else {
            await respondError(writer, 400, "missing request body")
            return nil
        }
        guard let body = try? JSONParser.parse(request.body), body.objectValue != nil else {
            await respondError(writer, 400, "invalid character in request body")
            return nil
        }
        return body
    }

    /// `DELETE /api/delete`: the model leaves `/api/tags`; a runner already loaded stays, as in Ollama.
    func delete(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = await objectBody(request, writer) else { return }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "name \"\" is invalid") }
        guard let model = find(name) else { return await respondError(writer, 404, "model '\(name)' not found") }
        if fault == .error500 { return await respondError(writer, 500, "remove \(model.name): permission denied") }
        markDeleted(model.name)
        try? await writer.respond(status: 200)
    }

    /// `POST /api/copy`: the source's files under a second name.
    func copy(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = await objectBody(request, writer) else { return }
        let source = body["source"]?.stringValue ?? ""
        let destination = body["destination"]?.stringValue ?? ""
        guard !source.isEmpty else { return await respondError(writer, 400, "source \"\" is invalid") }
        guard !destination.isEmpty else { return await respondError(writer, 400, "destination \"\" is invalid") }
        guard var model = find(source) else { return await respondError(writer, 404, "model \"\(source)\" not found") }
        if fault == .error500 { return await respondError(writer, 500, "copy \(model.name): no space left on device") }
        model.name = destination.contains(":") ? destination : destination + ":latest"
        model.modifiedAt = UTCTimestamp.now(fractionDigits: 9)
        addPulled(model)
        try? await writer.respond(status: 200)
    }
}

extension OllamaSimulator {
    /// `POST /api/create` from a model the node has (`from`): Ollama's progress lines, then the new
    /// name is listed. A base the node lacks is pulled first when the registry has it, as Ollama does.
    func create(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = await objectBody(request, writer) else { return }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "invalid model name") }
        let stream = body["stream"]?.boolValue ?? true
        if body["from"] == nil, let files = body["files"]?.objectValue {
            return await createFromFiles(name: name, files: files, stream: stream, writer)
        }
        guard let from = body["from"]?.stringValue, !from.isEmpty else {
            return await respondError(writer, 400, "neither 'from' or 'files' was specified")
        }
        var lines: [JSONValue] = []
        var base = find(from)
        if base == nil {
            lines.append(["status": "pulling model"])
            let wanted = from.contains(":") ? from : from + ":latest"
            base = configuration.registry.first { $0.name == wanted }
            if let base { addPulled(base) }
        }
        guard var model = base else {
            let error: JSONValue = ["error": "pull model manifest: file does not exist"]
            guard stream else { return await respondJSON(writer, 500, error) }
            lines.append(error)
            return await writeProgress(lines, writer)
        }
        lines.append(["status": .string("using existing layer sha256:\(model.digest)")])
        if body["system"]?.stringValue != nil { lines.append(["status": "creating new layer sha256:5e1a"]) }
        lines += [["status": "writing manifest"], ["status": "success"]]
        model.name = name.contains(":") ? name : name + ":latest"
        model.modifiedAt = UTCTimestamp.now(fractionDigits: 9)
        if let length = body["parameters"]?["num_ctx"]?.intValue { model.modelfileContextLength = Int(length) }
        addPulled(model)
        guard stream else { return await respondJSON(writer, 200, ["status": "success"]) }
        await writeProgress(lines, writer)
    }

    func writeProgress(_ lines: [JSONValue], _ writer: HTTPResponseWriter) async {
        guard (try? await writer.start(status: 200, headers: ["Content-Type": "application/x-ndjson"])) != nil else { return }
        for line in lines {
            guard (try? await writeAnswer(configuration.encoding.line(line), to: writer)) != nil else { return }
        }
        try? await writer.finish()
    }
}

extension OllamaSimulator {
    /// `POST /api/push`: Ollama's progress for a model the node holds (each blob pushed, then the
    /// manifest); for one it lacks, the manifest it could not read, as an error line.
    func push(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = await objectBody(request, writer) else { return }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "model is required") }
        let stream = body["stream"]?.boolValue ?? true
        guard let model = find(name) else {
            let tagged = name.contains(":") ? name.replacingOccurrences(of: ":", with: "/") : name + "/latest"
            let error = "open /root/.ollama/models/manifests/registry.ollama.ai/library/\(tagged): no such file or directory"
            guard stream else { return await respondJSON(writer, 500, ["error": .string(error)]) }
            return await writeProgress(
                [["status": "retrieving manifest"], ["status": "couldn't retrieve manifest"], ["error": .string(error)]], writer)
        }
        guard stream else { return await respondJSON(writer, 200, ["status": "success"]) }
        let blob: JSONValue = [
            "status": .string("pushing \(model.digest.prefix(12))"), "digest": .string("sha256:\(model.digest)"),
            "total": .int(model.sizeBytes), "completed": .int(model.sizeBytes),
        ]
        await writeProgress([["status": "retrieving manifest"], blob, ["status": "pushing manifest"], ["status": "success"]], writer)
    }
}
