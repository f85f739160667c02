import HTTP1
import WireFormats

// Removing and copying models on the node's disk, with Ollama's answers: an empty 200 when done.
extension OllamaSimulator {
    /// `DELETE /api/delete`: the model leaves `/api/tags`; a runner already loaded stays, as in Ollama.
    func delete(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard !request.body.isEmpty else { return await respondError(writer, 400, "missing request body") }
        guard let body = try? JSONParser.parse(request.body), body.objectValue != nil else {
            return await respondError(writer, 400, "invalid character in request body")
        }
        let name = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !name.isEmpty else { return await respondError(writer, 400, "name \"\" is invalid") }
        guard let model = find(name) else { return await respondError(writer, 404, "model '\(name)' not found") }
        if fault == .error500 { return await respondError(writer, 500, "remove \(model.name): permission denied") }
        markDeleted(model.name)
        try? await writer.respond(status: 200)
    }

    /// `POST /api/copy`: the source's files under a second name.
    func copy(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard !request.body.isEmpty else { return await respondError(writer, 400, "missing request body") }
        guard let body = try? JSONParser.parse(request.body), body.objectValue != nil else {
            return await respondError(writer, 400, "invalid character in request body")
        }
        let source = body["source"]?.stringValue ?? ""
        let destination = body["destination"]?.stringValue ?? ""
        guard !source.isEmpty else { return await respondError(writer, 400, "source \"\" is invalid") }
        guard !destination.isEmpty else { return await respondError(writer, 400, "destination \"\" is invalid") }
        guard var model = find(source) else { return await respondError(writer, 404, "model \"\(source)\" not found") }
        if fault == .error500 { return await respondError(writer, 500, "copy \(model.name): no space left on device") }
        model.name = destination.contains(":") ? destination : destination + ":latest"
        addPulled(model)
        try? await writer.respond(status: 200)
    }
}
