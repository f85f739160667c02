import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// A request a node's Ollama translates itself, as `routedRequest` sends it on: its fields
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

    /// The shared frame of `/v1` requests besides chat (OpenAI's and Anthropic's): parse, validate
    /// `model`, translate (`translate` returns the node path, the body's fields besides `model`,
    /// whether it streams, and the translator), serve from the model's targets, log.
    /// `conversation` keys a request's turns, so its next turn goes back to the node holding its
    /// prompt cache; `dialect` is the error shape its clients read (OpenAI's, or Anthropic's on
    /// `/v1/messages`). `cloudPath` is the OpenAI path a cloud endpoint serves the request on, the
    /// client's body sent as written; nil for an API no OpenAI-compatible cloud speaks, whose
    /// requests only the farm serves unless `reshapedCloudCall` puts them in OpenAI's form (given the
    /// client's fields, whether it streams and the model as named).
    func routedRequest(
        _ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, dialect: ErrorDialect = .openAI,
        cloudPath: String?, reshapedCloudCall: ((JSONObject, Bool, String) -> CloudCall)? = nil,
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
        record.stream = translated.stream
        let translator = translated.translator
        let farmCall = { (farmName: String) -> FarmCall? in
            guard let name = ModelName(farmName) else { return nil }
            var upstream = translated.fields
            // A node's own answer, relayed untouched, echoes the name it was sent: the one the client
            // wrote (less an `ollama/` prefix), as Ollama echoes it.
            upstream["model"] = .string(sendsNameAsWritten ? farmName : name.canonical)
            if let keepAlive = fields["keep_alive"] ?? self.config.keepAlive { upstream["keep_alive"] = keepAlive }
            var call = FarmCall(
                model: name, requestedName: model, path: translated.path, body: JSONValue.object(upstream).serialized(),
                stream: translated.stream, makeTranslator: { translator(model) })
            if let keys = conversation(name, fields) {
                call.conversationKey = keys.previousTurn
                call.continuationKey = keys.thisTurn
            }
            return call
        }
        let plan = RoutePlan.resolve(model, config: config)
        var cloudCall = cloudPath.map { path in
            CloudCall(path: path, fields: fields, stream: translated.stream, streamError: { translator(model).errorEvent($0) })
        }
        if let reshapedCloudCall, plan.reachesCloud { cloudCall = reshapedCloudCall(fields, translated.stream, model) }
        await serveTargets(
            plan, requested: model, writer: writer, record: &record, dialect: dialect, farmCall: farmCall, cloudCall: cloudCall)
    }

    /// The farm's name for a model as a `/v1` client wrote it (an alias or an `ollama/` prefix
    /// resolved, `plan` being its targets), and its parse; OpenAI's 404 when no farm model answers to it.
    func farmModel(_ requested: String, in plan: RoutePlan) -> Result<(farmName: String, name: ModelName), APIError> {
        let farmName = plan.targets.lazy.compactMap { if case .farm(let model) = $0.destination { model } else { nil } }.first
        guard let farmName, let name = ModelName(farmName) else {
            return .failure(APIError(status: 404, "model '\(requested)' not found", param: "model", code: "model_not_found"))
        }
        return .success((farmName, name))
    }

    /// Places a call only the farm serves and answers the client; what keeps the farm from serving
    /// it is answered in `dialect`.
    func serveFarmOnly(_ call: FarmCall, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, dialect: ErrorDialect) async {
        let result = await serveFromFarm(call, strategy: config.strategy, writer: writer)
        if let unavailable = await settle(result, writer, &record, dialect: dialect) {
            await fail(unavailable.error, writer, &record, dialect: dialect)
        }
    }
}
