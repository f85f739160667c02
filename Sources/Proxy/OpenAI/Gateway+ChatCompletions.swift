import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /v1/chat/completions`: validate and translate, resolve the model to its targets, and try
    /// them in the strategy's order (`serveTargets`); within the farm, retry on another node while
    /// nothing has been sent to the client.
    func chatCompletions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        let body: JSONValue
        let translation: ChatRequestTranslation
        do {
            guard !request.body.isEmpty else { throw APIError.badRequest("request body is empty; send a JSON object") }
            do { body = try JSONParser.parse(request.body) } catch { throw APIError.badRequest("invalid JSON in request body: \(error)") }
            translation = try ChatRequestTranslation.translate(body)
        } catch let error as APIError {
            return await fail(error, writer, &record, openAI: true)
        } catch {
            return await fail(APIError(status: 500, "\(error)"), writer, &record, openAI: true)
        }
        let requested = body["model"]?.stringValue ?? translation.model
        record.model = requested
        record.stream = translation.stream
        await serveTargets(
            RoutePlan.resolve(requested, config: config), requested: requested, writer: writer, record: &record, dialect: .openAI,
            farmCall: { farmCall(translation.retargeted(to: $0)) }, cloudCall: .chat(body.objectValue ?? [:], stream: translation.stream))
    }

    /// The node request for a translated chat: `/api/chat`, the config's `keep_alive` when the client sent none.
    private func farmCall(_ translation: ChatRequestTranslation) -> FarmCall? {
        guard let model = translation.modelName else { return nil }
        var ollamaBody = translation.ollamaBody
        if ollamaBody["keep_alive"] == nil, let keepAlive = config.keepAlive, case .object(var fields) = ollamaBody {
            fields["keep_alive"] = keepAlive
            ollamaBody = .object(fields)
        }
        let requested = translation.model
        let includeUsage = translation.includeUsage
        var call = FarmCall(
            model: model, requestedName: requested, path: "/api/chat", body: ollamaBody.serialized(), stream: translation.stream,
            conversationKey: translation.conversationKey, continuationKey: translation.continuationKey,
            makeTranslator: { [self] in
                ChatResponseTranslation(
                    model: requested, includeUsage: includeUsage, created: Int64(WallClock.now()), id: newCompletionID())
            })
        call.carriesImages = FarmCall.sendsImages(ollamaBody)
        return call
    }

}
