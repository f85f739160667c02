import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /v1/audio/transcriptions`: OpenAI's transcription form (`multipart/form-data` with
    /// `model`, `file` and optionally `response_format`, `language`, `prompt`), which a node's
    /// Ollama translates into a chat with the audio itself. TensorWall reads the form only to place
    /// the request by its model, refuses what Ollama would refuse before any node sees it, and sends
    /// the form on unchanged but for the model's name; the node's answer (`{"text": …}`, or plain
    /// text) goes to the client untouched. A route with cloud targets, or a model a cloud endpoint
    /// lists, reaches the endpoint's own `/audio/transcriptions` the same way when the farm cannot serve.
    func openAITranscriptions(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        let contentType = request.headers["Content-Type"]
        let form: MultipartForm
        do {
            form = try MultipartForm(request.body, boundary: MultipartForm.boundary(contentType: contentType))
        } catch {
            return await fail(.badRequest("failed to parse multipart form: \(error.message)"), writer, &record, dialect: .openAI)
        }
        // Ollama's order and words (middleware/openai.go, TranscriptionMiddleware).
        let model = form.value("model", in: request.body)
        guard !model.isEmpty else { return await fail(.badRequest("model is required"), writer, &record, dialect: .openAI) }
        record.model = model
        guard let file = form.part(named: "file"), file.filename != nil else {
            return await fail(.badRequest("file is required: http: no such file"), writer, &record, dialect: .openAI)
        }
        guard !file.content.isEmpty else { return await fail(.badRequest("audio file is empty"), writer, &record, dialect: .openAI) }
        let formType = contentType ?? "multipart/form-data"
        let plan = RoutePlan.resolve(model, config: config)
        if plan.reachesCloud {
            let body = request.body
            return await serveTargets(
                plan, requested: model, writer: writer, record: &record, dialect: .openAI,
                farmCall: { farmName in
                    ModelName(farmName).map { name in
                        Self.transcriptionCall(name, requested: model, form: form, body: body, farmName: farmName, contentType: formType)
                    }
                }, cloudCall: .transcription(form, body: body, contentType: formType))
        }
        let farmName: String
        let name: ModelName
        switch farmModel(model, in: plan) {
        case .success(let found): (farmName, name) = found
        case .failure(let error): return await fail(error, writer, &record, dialect: .openAI)
        }
        let call = Self.transcriptionCall(name, requested: model, form: form, body: request.body, farmName: farmName, contentType: formType)
        await serveFarmOnly(call, writer, &record, dialect: .openAI)
    }

    /// The node request: the client's form, with `farmName` for the model where it differs.
    private static func transcriptionCall(
        _ name: ModelName, requested: String, form: MultipartForm, body: [UInt8], farmName: String, contentType: String
    ) -> FarmCall {
        let sent = farmName == requested ? body : form.replacing("model", with: farmName, in: body)
        var call = FarmCall(
            model: name, requestedName: requested, path: "/v1/audio/transcriptions", body: sent, stream: false,
            makeTranslator: { WholeAnswerPassThrough() })
        call.contentType = contentType
        return call
    }
}
