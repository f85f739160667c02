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
        guard let found = catalogue.first(where: { $0.id == id || $0.id == wanted || (name != nil && $0.id == name) }) else {
            return await respond(
                writer, APIError(status: 404, "model '\(name ?? id)' not found", param: "model", code: "model_not_found"), openAI: true)
        }
        var entry = found.entry
        if case .object(var fields) = entry {
            fields["id"] = .string(id)
            entry = .object(fields)
        }
        await respondJSON(writer, entry)
    }

    private func modelCatalogue() async -> [(id: String, entry: JSONValue)] {
        var seen = Set<String>()
        var result: [(id: String, entry: JSONValue)] = []
        func add(_ id: String, created: Int64, ownedBy: String) {
            guard seen.insert(id).inserted else { return }
            result.append((id, ["id": .string(id), "object": "model", "created": .int(created), "owned_by": .string(ownedBy)]))
        }
        let started = Int64(WallClock.now())
        for node in await cluster.snapshots() where node.health.isInService {
            for model in node.pulled.values.sorted(by: { $0.name < $1.name }) {
                let namespace = model.name.canonical.split(separator: "/").dropLast().last.map(String.init) ?? "library"
                add(model.name.canonical, created: Int64(model.modifiedAt ?? Double(started)), ownedBy: namespace)
            }
        }
        for endpoint in config.cloud {
            for model in endpoint.models { add("\(endpoint.name)/\(model)", created: started, ownedBy: endpoint.name) }
        }
        for route in config.routes.keys.sorted() { add(route, created: started, ownedBy: "tensorwall") }
        return result
    }

    /// The farm model a `/v1` request names: `ollama/X`, `X`, or a route whose targets include the farm.
    func farmModelName(_ requested: String) -> String? {
        for target in RoutePlan.resolve(requested, config: config).targets {
            if case .farm(let model) = target.destination { return model }
        }
        return nil
    }

    /// `POST /v1/embeddings` → Ollama `/api/embed`.
    func openAIEmbeddings(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        await farmOnlyRequest(request, writer, &record) { fields in
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

    /// `POST /v1/completions` → Ollama `/api/generate`.
    func openAICompletions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        await farmOnlyRequest(request, writer, &record) { [self] fields in
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
    /// bytes (a stream's events as they come).
    func openAIResponses(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        // A conversation's next turn goes back to the node holding its prompt cache, as on chat.
        let conversation = { (model: ModelName, fields: JSONObject) in ConversationKeys(model: model.canonical, responsesRequest: fields) }
        await farmOnlyRequest(request, writer, &record, sendsNameAsWritten: true, conversation: conversation) { fields in
            try Self.passedThrough(fields, to: "/v1/responses") { ResponsesPassThrough() }
        }
    }

    /// A request a node's Ollama translates itself, as `farmOnlyRequest` sends it on: its fields
    /// besides `model` as they came, to the same path, streamed only when it says so.
    static func passedThrough(
        _ fields: JSONObject, to path: String, translator: @escaping @Sendable () -> any AnswerTranslator
    ) throws -> (path: String, fields: JSONObject, stream: Bool, translator: @Sendable (String) -> any AnswerTranslator) {
        var stream = false
        if let value = fields["stream"], !value.isNull {
            guard let flag = value.boolValue else { throw APIError.badRequest("stream must be a boolean", param: "stream") }
            stream = flag
        }
        var out = fields
        out["model"] = nil
        return (path, out, stream, { _ in translator() })
    }

    /// The shared frame of `/v1` requests (OpenAI's and Anthropic's) that only the farm serves:
    /// parse, validate `model`, translate (`translate` returns the node path, the body's fields
    /// besides `model`, whether it streams, and the translator), place, log. `conversation` keys a
    /// request's turns, so its next turn goes back to the node holding its prompt cache; `dialect`
    /// is the error shape its clients read (OpenAI's, or Anthropic's on `/v1/messages`).
    func farmOnlyRequest(
        _ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, dialect: ErrorDialect = .openAI,
        sendsNameAsWritten: Bool = false, conversation: (ModelName, JSONObject) -> ConversationKeys? = { _, _ in nil },
        translate: (JSONObject) throws -> (
            path: String, fields: JSONObject, stream: Bool, translator: @Sendable (String) -> any AnswerTranslator
        )
    ) async {
        guard !request.body.isEmpty else {
            return await fail(.badRequest("request body is empty; send a JSON object"), writer, &record, dialect: dialect)
        }
        guard let body = try? JSONParser.parse(request.body), let fields = body.objectValue else {
            return await fail(.badRequest("invalid JSON in request body: expected a JSON object"), writer, &record, dialect: dialect)
        }
        guard let model = fields["model"]?.stringValue, !model.isEmpty else {
            return await fail(.badRequest("you must provide a model parameter", param: "model"), writer, &record, dialect: dialect)
        }
        record.model = model
        let translated: (path: String, fields: JSONObject, stream: Bool, translator: @Sendable (String) -> any AnswerTranslator)
        do { translated = try translate(fields) } catch let error as APIError {
            return await fail(error, writer, &record, dialect: dialect)
        } catch {
            return await fail(APIError(status: 500, "\(error)"), writer, &record, dialect: dialect)
        }
        guard let farmName = farmModelName(model), let name = ModelName(farmName) else {
            let error = APIError(status: 404, "model '\(model)' not found", param: "model", code: "model_not_found")
            return await fail(error, writer, &record, dialect: dialect)
        }
        record.stream = translated.stream
        var upstream = translated.fields
        // A node's own answer, relayed untouched, echoes the name it was sent: the one the client
        // wrote (less an `ollama/` prefix), as Ollama echoes it.
        upstream["model"] = .string(sendsNameAsWritten ? farmName : name.canonical)
        if let keepAlive = fields["keep_alive"] ?? config.keepAlive { upstream["keep_alive"] = keepAlive }
        let translator = translated.translator
        var call = FarmCall(
            model: name, requestedName: model, path: translated.path, body: JSONValue.object(upstream).serialized(),
            stream: translated.stream, makeTranslator: { translator(model) })
        if let keys = conversation(name, fields) {
            call.conversationKey = keys.previousTurn
            call.continuationKey = keys.thisTurn
        }
        let result = await serveFromFarm(call, strategy: config.strategy, writer: writer)
        if let unavailable = await settle(result, writer, &record, dialect: dialect) {
            await fail(unavailable.error, writer, &record, dialect: dialect)
        }
    }
}
