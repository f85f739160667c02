import HTTP1
import WireFormats

extension OllamaSimulator {
    /// The answer shapes of Ollama's three embedding endpoints.
    enum EmbeddingShape {
        /// `/api/embed`: `{"embeddings": [[...]]}`.
        case embed
        /// The legacy `/api/embeddings`: `{"embedding": [...]}` for one `prompt`.
        case legacy
        /// `/v1/embeddings`: OpenAI's list of `embedding` objects, errors in OpenAI's shape.
        case openAI
    }

    /// The embedding endpoints: the model is loaded like any other; vectors are 8 deterministic,
    /// L2-normalised floats per input.
    func embed(_ request: HTTPRequest, _ writer: HTTPResponseWriter, shape: EmbeddingShape) async {
        let openAI = shape == .openAI
        guard !request.body.isEmpty else { return await respondError(writer, 400, "missing request body", openAI: openAI) }
        guard let body = try? JSONParser.parse(request.body), body.objectValue != nil else {
            return await respondError(writer, 400, "invalid character in request body", openAI: openAI)
        }
        let name = body["model"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "model is required", openAI: openAI) }
        guard let model = find(name) else {
            return await respondError(writer, 404, "model \"\(name)\" not found, try pulling it first", openAI: openAI)
        }
        var inputs: [String]
        if shape == .legacy {
            inputs = (body["prompt"]?.stringValue).map { $0.isEmpty ? [] : [$0] } ?? []
        } else if let text = body["input"]?.stringValue {
            inputs = text.isEmpty ? [] : [text]
        } else if let list = body["input"]?.arrayValue {
            guard list.allSatisfy({ $0.stringValue != nil }) else {
                return await respondError(writer, 400, "invalid input type", openAI: openAI)
            }
            inputs = list.compactMap(\.stringValue)
        } else {
            inputs = []
        }
        if fault == .error500 { return await respondError(writer, 500, "model runner has unexpectedly stopped", openAI: openAI) }
        if fault == .loadsHang, !(await scheduler.isLoaded(model)) { return await hangUntilCancelled() }
        let started = ContinuousClock.now
        guard let loadDuration = await scheduler.acquire(model, keepAlive: nil) else { return }
        await scheduler.release(model)
        let vectors: [JSONValue] = inputs.map { text in
            var seed: UInt64 = 1469598103934665603
            for byte in text.utf8 { seed = (seed ^ UInt64(byte)) &* 1099511628211 }
            let raw = (0..<8).map { index in Double((seed >> UInt64(index * 8)) & 0xFF) + 1 }
            let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return .array(raw.map { .double($0 / norm) })
        }
        let tokens = inputs.reduce(0) { $0 + max(1, $1.utf8.count / 4) }
        switch shape {
        case .legacy:
            await respondJSON(writer, 200, ["embedding": vectors.first ?? []])
        case .openAI:
            let data = vectors.enumerated().map { index, vector -> JSONValue in
                ["object": "embedding", "embedding": vector, "index": .int(Int64(index))]
            }
            await respondJSON(
                writer, 200,
                [
                    "object": "list", "data": .array(data), "model": .string(name),
                    "usage": ["prompt_tokens": .int(Int64(tokens)), "total_tokens": .int(Int64(tokens))],
                ])
        case .embed:
            await respondJSON(
                writer, 200,
                [
                    "model": .string(name), "embeddings": .array(vectors), "total_duration": .int(Self.nanos(started.duration(to: .now))),
                    "load_duration": .int(max(loadDuration, 1)), "prompt_eval_count": .int(Int64(tokens)),
                ])
        }
    }

    /// `/api/show`: details of a pulled model; 404 with the normalised name otherwise.
    func show(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = try? JSONParser.parse(request.body) else { return await respondError(writer, 400, "missing request body") }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "model is required") }
        guard let model = find(name) else {
            let normalised = name.contains(":") ? name : name + ":latest"
            return await respondError(writer, 404, "model '\(normalised)' not found")
        }
        await respondJSON(
            writer, 200,
            [
                "license": "", "modelfile": .string(modelfile(of: model)), "parameters": .string(parameters(of: model)),
                "template": "{{ .Prompt }}", "details": tagEntry(model)["details"] ?? [:],
                "model_info": [
                    "general.architecture": .string(model.family), "general.parameter_count": 3_212_749_888,
                    .init(model.family + ".context_length"): .int(Int64(model.trainedContextLength)),
                ],
                "capabilities": model.isEmbedding ? ["embedding"] : ["completion", "tools"],
                "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            ])
    }

    /// The Modelfile as `ollama show` prints it: its `FROM` names the weights file's blob.
    private func modelfile(of model: SimulatedModel) -> String {
        """
        # Modelfile generated by "ollama show"
        # To build a new Modelfile based on this, replace FROM with:
        # FROM \(model.name)

        FROM \(model.weightsBlobPath)
        TEMPLATE {{ .Prompt }}
        \(parameters(of: model).split(separator: "\n").map { "PARAMETER " + $0 }.joined(separator: "\n"))

        """
    }

    /// The Modelfile's parameters as Ollama prints them: a name, spaces to column 31, the value.
    private func parameters(of model: SimulatedModel) -> String {
        var lines = ["stop                           \"<|eot_id|>\""]
        if let length = model.modelfileContextLength { lines.insert("num_ctx                        \(length)", at: 0) }
        return lines.joined(separator: "\n")
    }

    /// `/api/pull`: Ollama's progress lines for a model in the registry; the model is then listed in `/api/tags`.
    func pull(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let body = try? JSONParser.parse(request.body) else { return await respondError(writer, 400, "missing request body") }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        let wanted = name.contains(":") ? name : name + ":latest"
        guard let model = find(name) ?? configuration.registry.first(where: { $0.name == wanted }) else {
            return await respondError(writer, 500, "pull model manifest: file does not exist")
        }
        let stream = body["stream"]?.boolValue ?? true
        let lines: [JSONValue] = [
            ["status": "pulling manifest"],
            [
                "status": .string("pulling \(model.digest.prefix(12))"), "digest": .string("sha256:\(model.digest)"),
                "total": .int(model.sizeBytes), "completed": .int(model.sizeBytes / 2),
            ],
            [
                "status": .string("pulling \(model.digest.prefix(12))"), "digest": .string("sha256:\(model.digest)"),
                "total": .int(model.sizeBytes), "completed": .int(model.sizeBytes),
            ],
            ["status": "verifying sha256 digest"], ["status": "writing manifest"], ["status": "success"],
        ]
        addPulled(model)
        guard stream else { return await respondJSON(writer, 200, ["status": "success"]) }
        guard (try? await writer.start(status: 200, headers: ["Content-Type": "application/x-ndjson"])) != nil else { return }
        for line in lines {
            guard (try? await writeAnswer(configuration.encoding.line(line), to: writer)) != nil else { return }
        }
        try? await writer.finish()
    }
}
