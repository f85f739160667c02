import Balancer
import HTTP1

extension Gateway {
    /// The native inference endpoints and how each names what it needs.
    enum NativeEndpoint: String {
        case chat = "/api/chat"
        case generate = "/api/generate"
        case embed = "/api/embed"
        case embeddings = "/api/embeddings"

        /// Ollama streams chat and generate unless told not to; embeddings never stream.
        var streamsByDefault: Bool { self == .chat || self == .generate }

        /// Ollama's own answer when no node has the model (the texts differ per endpoint).
        func notFound(_ name: String) -> APIError {
            switch self {
            case .chat, .generate: return APIError(status: 404, "model '\(name)' not found")
            case .embed, .embeddings: return APIError(status: 404, "model \"\(name)\" not found, try pulling it first")
            }
        }
    }

    /// `POST /api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`: placed by the same
    /// scheduler as `/v1`, answered with the node's own bytes (NDJSON streams stay NDJSON).
    func ollamaInference(_ request: HTTPRequest, _ writer: HTTPResponseWriter, keyName: String, endpoint: NativeEndpoint) async {
        let started = ContinuousClock.now
        func fail(_ error: APIError, model: String = "-", node: String = "-") async {
            await respond(writer, error, openAI: false)
            logRequest(keyName: keyName, model: model, node: node, status: error.status, started: started, usage: Usage(), stream: false)
        }
        guard !request.body.isEmpty else { return await fail(APIError(status: 400, "missing request body")) }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body) } catch { return await fail(APIError(status: 400, "\(error)")) }
        guard case .object(var fields) = body else {
            return await fail(APIError(status: 400, "json: cannot unmarshal \(body.typeName) into Go value of type api.Request"))
        }
        let requested = fields["model"]?.stringValue ?? ""
        if requested.isEmpty {
            return await fail(
                endpoint == .generate ? APIError(status: 404, "model '' not found") : APIError(status: 400, "model is required"))
        }
        guard let model = ModelName(requested.hasPrefix("ollama/") ? String(requested.dropFirst(7)) : requested) else {
            return await fail(APIError(status: 400, "invalid model name"), model: requested)
        }
        var stream = endpoint.streamsByDefault
        if let value = fields["stream"], !value.isNull {
            guard let flag = value.boolValue else {
                return await fail(
                    APIError(status: 400, "json: cannot unmarshal \(value.typeName) into Go struct field .stream of type bool"))
            }
            stream = flag && endpoint.streamsByDefault
        }
        // The bytes go on as sent unless TensorWall must change them (a default keep_alive, a prefixed name).
        var upstreamBody = request.body
        if requested.hasPrefix("ollama/") {
            if fields["keep_alive"] == nil, let keepAlive = config.keepAlive { fields["keep_alive"] = keepAlive }
            fields["model"] = .string(model.canonical)
            upstreamBody = JSONValue.object(fields).serialized()
        } else if fields["keep_alive"] == nil, let keepAlive = config.keepAlive {
            // Only a field to add: splice it in rather than re-encode the whole body (images included).
            upstreamBody = JSONSplice.prependingField("keep_alive", keepAlive, to: request.body)
        }
        var call = FarmCall(
            model: model, requestedName: requested, path: endpoint.rawValue, body: upstreamBody, stream: stream,
            makeTranslator: { PassThroughTranslator() })
        if endpoint == .chat, let messages = fields["messages"]?.arrayValue, !messages.isEmpty {
            let keys = ConversationKeys(model: model.canonical, messages: messages)
            call.conversationKey = keys.previousTurn
            call.continuationKey = keys.thisTurn
        }
        switch await serveFromFarm(call, strategy: config.strategy, writer: writer) {
        case .done(let status, let usage, let servedBy):
            logRequest(keyName: keyName, model: requested, node: servedBy, status: status, started: started, usage: usage, stream: stream)
        case .abandoned(let servedBy):
            logRequest(keyName: keyName, model: requested, node: servedBy, status: 499, started: started, usage: Usage(), stream: stream)
        case .final(let error, let servedBy):
            await fail(error, model: requested, node: servedBy)
        case .unavailable(let error, _):
            await fail(error.status == 404 ? endpoint.notFound(requested) : error, model: requested)
        }
    }
}
