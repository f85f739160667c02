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
    /// text) goes to the client untouched.
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
        let farmName: String
        let name: ModelName
        switch farmModel(model) {
        case .success(let found): (farmName, name) = found
        case .failure(let error): return await fail(error, writer, &record, dialect: .openAI)
        }
        let body = farmName == model ? request.body : form.replacing("model", with: farmName, in: request.body)
        var call = FarmCall(
            model: name, requestedName: model, path: "/v1/audio/transcriptions", body: body, stream: false,
            makeTranslator: { WholeAnswerPassThrough() })
        call.contentType = contentType ?? "multipart/form-data"
        await serveFarmOnly(call, writer, &record, dialect: .openAI)
    }
}
