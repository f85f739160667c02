import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`: placed by the same
    /// scheduler as `/v1`, answered with the node's own bytes (NDJSON streams stay NDJSON).
    func ollamaInference(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, endpoint: NativeEndpoint)
        async
    {
        guard !request.body.isEmpty else {
            return await fail(APIError(status: 400, "missing request body"), writer, &record, openAI: false)
        }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body) } catch {
            return await fail(APIError(status: 400, "\(error)"), writer, &record, openAI: false)
        }
        guard case .object(var fields) = body else {
            let error = APIError(
                status: 400, "json: cannot unmarshal \(body.goTypeName) into Go value of type api.\(endpoint.goRequestType)")
            return await fail(error, writer, &record, openAI: false)
        }
        let requested = fields["model"]?.stringValue ?? ""
        if requested.isEmpty {
            let error = endpoint == .generate ? APIError(status: 404, "model '' not found") : APIError(status: 400, "model is required")
            return await fail(error, writer, &record, openAI: false)
        }
        record.model = requested
        var stream = endpoint.streamsByDefault
        // Only chat and generate have a `stream` field; Ollama ignores one sent with embeddings.
        if endpoint.streamsByDefault, let value = fields["stream"], !value.isNull {
            guard let flag = value.boolValue else {
                record.model = "-"
                let field = "\(endpoint.goRequestType).stream"
                let error = APIError(status: 400, "json: cannot unmarshal \(value.goTypeName) into Go struct field \(field) of type bool")
                return await fail(error, writer, &record, openAI: false)
            }
            stream = flag
        }
        record.stream = stream
        // A `routes` alias, or a model a cloud endpoint lists: its targets in the route's order. The cloud
        // ones serve every endpoint, the request and answer reshaped between Ollama's API and OpenAI's
        // (`cloudCall`), but for a request that only loads the model: the farm's alone.
        let mayReachCloud = !config.cloud.isEmpty && !endpoint.loadsOnly(fields)
        let isRoute = config.routes[requested] != nil
        if isRoute || mayReachCloud, case let plan = RoutePlan.resolve(requested, config: config), isRoute || plan.reachesCloud {
            let cloudCall = mayReachCloud && plan.reachesCloud ? endpoint.cloudCall(fields, stream: stream, requested: requested) : nil
            return await serveTargets(
                plan, requested: requested, writer: writer, record: &record, dialect: .ollama,
                farmCall: { farmName in
                    guard let model = ModelName(farmName) else { return nil }
                    // A model a cloud endpoint lists goes to the farm as sent, bytes and all, as any model does.
                    if !isRoute && farmName == requested {
                        return nativeFarmCall(
                            model, requested: requested, fields: fields, body: request.body, endpoint: endpoint, stream: stream)
                    }
                    var upstream = fields
                    upstream["model"] = .string(model.canonical)
                    return nativeFarmCall(model, requested: requested, fields: upstream, body: nil, endpoint: endpoint, stream: stream)
                }, cloudCall: cloudCall, notFound: endpoint.notFound)
        }
        let (bare, pinnedToFarm) = ModelName.strippingFarmPrefix(requested)
        guard let model = ModelName(bare) else {
            return await fail(APIError(status: 400, "invalid model name"), writer, &record, openAI: false)
        }
        if pinnedToFarm { fields["model"] = .string(model.canonical) }
        if Self.asksUnload(fields, endpoint: endpoint) {
            let body = pinnedToFarm ? JSONValue.object(fields).serialized() : request.body
            return await unloadEverywhere(model, requested: requested, body: body, endpoint: endpoint, writer: writer, record: &record)
        }
        // The bytes go on as sent unless TensorWall must change them (a prefixed name).
        let call = nativeFarmCall(
            model, requested: requested, fields: fields, body: pinnedToFarm ? nil : request.body, endpoint: endpoint, stream: stream)
        let result = await serveFromFarm(call, strategy: config.strategy, writer: writer)
        if let unavailable = await settle(result, writer, &record, openAI: false) {
            let error = unavailable.error
            await fail(error.status == 404 ? endpoint.notFound(requested) : error, writer, &record, openAI: false)
        }
    }

    /// The node request for a native call: `body` as the client sent it when TensorWall need not
    /// change the fields (nil: `fields` encoded), with the config's `keep_alive` added when the
    /// client gave none.
    private func nativeFarmCall(
        _ model: ModelName, requested: String, fields: JSONObject, body: [UInt8]?, endpoint: NativeEndpoint, stream: Bool
    ) -> FarmCall {
        let addsKeepAlive = fields["keep_alive"] == nil ? config.keepAlive : nil
        let upstreamBody: [UInt8]
        if let body {
            // Only a field to add: splice it in rather than re-encode the whole body (images included).
            upstreamBody = addsKeepAlive.map { JSONSplice.prependingField("keep_alive", $0, to: body) } ?? body
        } else {
            var sent = fields
            if let addsKeepAlive { sent["keep_alive"] = addsKeepAlive }
            upstreamBody = JSONValue.object(sent).serialized()
        }
        var call = FarmCall(
            model: model, requestedName: requested, path: endpoint.rawValue, body: upstreamBody, stream: stream,
            makeTranslator: { PassThroughTranslator() })
        call.carriesImages = FarmCall.sendsImages(.object(fields))
        call.contextLength = FarmCall.contextLength(.object(fields))
        if endpoint == .chat, let messages = fields["messages"]?.arrayValue, !messages.isEmpty {
            let keys = ConversationKeys(model: model.canonical, messages: messages)
            call.conversationKey = keys.previousTurn
            call.continuationKey = keys.thisTurn
        }
        return call
    }
}
