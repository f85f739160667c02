import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `GET /v1/models`: every model pulled on a healthy node, every cloud endpoint's models (as
    /// `ENDPOINT/MODEL`) and every route alias, in OpenAI's list shape.
    func listModels(_ writer: HTTPResponseWriter) async {
        await respondJSON(writer, ["object": "list", "data": .array(await modelCatalogue().map(\.entry))])
    }

    /// `GET /v1/models/{id}`: one entry, or OpenAI's 404.
    func showOpenAIModel(_ id: String, _ writer: HTTPResponseWriter) async {
        let catalogue = await modelCatalogue()
        let wanted = ModelName.strippingFarmPrefix(id).name
        let name = ModelName(wanted)?.canonical
        guard let found = catalogue.first(where: { $0.key == id || $0.key == wanted || (name != nil && $0.key == name) }) else {
            return await respond(
                writer,
                APIError(
                    status: 404, "model '\(ModelName.displayShortest(wanted) ?? id)' not found", param: "model", code: "model_not_found"),
                openAI: true)
        }
        var entry = found.entry
        if case .object(var fields) = entry {
            fields["id"] = .string(id)
            entry = .object(fields)
        }
        await respondJSON(writer, entry)
    }

    /// Each entry's `key` is what a lookup matches: a farm model's canonical name (Ollama matches
    /// names whatever their case), else the id. The id is a farm model's name as its node prints it,
    /// as Ollama's own `/v1/models` lists `hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M`.
    private func modelCatalogue() async -> [(key: String, entry: JSONValue)] {
        var seen = Set<String>()
        var result: [(key: String, entry: JSONValue)] = []
        func add(_ id: String, key: String? = nil, created: Int64, ownedBy: String) {
            guard seen.insert(key ?? id).inserted else { return }
            result.append((key ?? id, ["id": .string(id), "object": "model", "created": .int(created), "owned_by": .string(ownedBy)]))
        }
        let started = Int64(WallClock.now())
        for node in await cluster.snapshots() where node.health.isInService {
            for model in node.pulled.values.sorted(by: { $0.name < $1.name }) {
                let namespace = model.displayName.split(separator: "/").dropLast().last.map(String.init) ?? "library"
                add(
                    model.displayName, key: model.name.canonical, created: Int64(model.modifiedAt ?? Double(started)),
                    ownedBy: namespace)
            }
        }
        for endpoint in config.cloud {
            for model in endpoint.models { add("\(endpoint.name)/\(model)", created: started, ownedBy: endpoint.name) }
        }
        for route in config.routes.keys.sorted() { add(route, created: started, ownedBy: "tensorwall") }
        return result
    }

    /// `POST /v1/embeddings` → Ollama `/api/embed`, or a cloud endpoint's `/embeddings` as written.
    func openAIEmbeddings(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        await routedRequest(request, writer, &record, cloudPath: "/embeddings") { fields in
            guard let input = fields["input"], !input.isNull else { throw APIError.badRequest("invalid input", param: "input") }
            if let list = input.arrayValue {
                guard !list.isEmpty, list.allSatisfy({ $0.stringValue != nil }) else {
                    throw APIError.badRequest("invalid input", param: "input")
                }
            } else if input.stringValue == nil {
                throw APIError.badRequest("invalid input", param: "input")
            }
            let format = fields["encoding_format"]?.stringValue ?? "float"
            guard format == "float" || format == "base64" else {
                throw APIError.badRequest(
                    "Invalid value for 'encoding_format' = \(format). Supported values: ['float', 'base64'].", param: "encoding_format")
            }
            var out: JSONObject = ["input": input]
            if let dimensions = fields["dimensions"], !dimensions.isNull {
                guard dimensions.intValue != nil else { throw APIError.badRequest("dimensions must be an integer", param: "dimensions") }
                out["dimensions"] = dimensions
            }
            return (
                "/api/embed", out, false,
                { model in EmbeddingTranslation(model: model, base64: format == "base64") }
            )
        }
    }

    /// `POST /v1/completions` → Ollama `/api/generate`, or a cloud endpoint's `/completions` as written.
    func openAICompletions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        await routedRequest(request, writer, &record, cloudPath: "/completions") { [self] fields in
            guard let prompt = fields["prompt"]?.stringValue else { throw APIError.badRequest("prompt must be a string", param: "prompt") }
            var stream = false
            if let value = fields["stream"], !value.isNull {
                guard let flag = value.boolValue else { throw APIError.badRequest("stream must be a boolean", param: "stream") }
                stream = flag
            }
            let includeUsage = fields["stream_options"]?["include_usage"]?.boolValue ?? false
            var out: JSONObject = ["prompt": .string(prompt), "stream": .bool(stream)]
            if let suffix = fields["suffix"]?.stringValue { out["suffix"] = .string(suffix) }
            try TextCompletionTranslation.logprobs(fields, into: &out)
            let options = try ChatRequestTranslation.options(fields)
            if !options.isEmpty { out["options"] = .object(options) }
            return (
                "/api/generate", out, stream,
                { model in
                    TextCompletionTranslation(
                        id: self.idRandom.withLock { TextCompletionTranslation.makeID(using: &$0) }, created: Int64(WallClock.now()),
                        model: model, includeUsage: includeUsage)
                }
            )
        }
    }

    /// `POST /v1/responses` → the node's own `/v1/responses`: Ollama translates the OpenAI Responses
    /// API itself, so TensorWall places the request like any for its model and relays the node's
    /// bytes (a stream's events as they come). A cloud endpoint gets it on its own `/responses`.
    func openAIResponses(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        // A conversation's next turn goes back to the node holding its prompt cache, as on chat.
        let conversation = { (model: ModelName, fields: JSONObject) in ConversationKeys(model: model.canonical, responsesRequest: fields) }
        await routedRequest(request, writer, &record, cloudPath: "/responses", sendsNameAsWritten: true, conversation: conversation) {
            fields in
            try Self.passedThrough(fields, to: "/v1/responses") { EventStreamPassThrough(.responses) }
        }
    }
}
