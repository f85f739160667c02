import HTTP1
import WireFormats

extension OllamaSimulator {
    /// `POST /v1/audio/transcriptions` as Ollama's `TranscriptionMiddleware` takes it: the form's
    /// fields checked in its order and words, then a chat with the audio, answered as OpenAI's
    /// transcription (`{"text": …}` with Go's encoder's newline, or plain text).
    func transcription(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        let form: MultipartForm
        do {
            form = try MultipartForm(request.body, boundary: MultipartForm.boundary(contentType: request.headers["Content-Type"]))
        } catch {
            return await respondError(writer, 400, "failed to parse multipart form: \(error.message)", openAI: true)
        }
        let model = form.value("model", in: request.body)
        guard !model.isEmpty else { return await respondError(writer, 400, "model is required", openAI: true) }
        guard let file = form.part(named: "file"), file.filename != nil else {
            return await respondError(writer, 400, "file is required: http: no such file", openAI: true)
        }
        guard !file.content.isEmpty else { return await respondError(writer, 400, "audio file is empty", openAI: true) }
        let prompt = form.value("prompt", in: request.body)
        let chat: JSONValue = [
            "model": .string(model), "stream": false, "response_format": .string(form.value("response_format", in: request.body)),
            "messages": [["role": "user", "content": .string(prompt.isEmpty ? "Transcribe this audio." : prompt)]],
        ]
        await inference(HTTPRequest(method: "POST", target: request.target, body: chat.serialized()), writer, kind: .transcription)
    }

    func respondTranscription(_ writer: HTTPResponseWriter, text: String, format: String?) async {
        if format == "text" {
            try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(text.utf8))
            return
        }
        let body = JSONValue.object(["text": .string(text)]).serialized() + [10]
        try? await writer.respond(status: 200, headers: ["Content-Type": "application/json"], body: body)
    }
}
