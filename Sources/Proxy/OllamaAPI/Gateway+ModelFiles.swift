import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `DELETE /api/delete`: sent to every healthy node (or the one named in `"node"`), so
    /// `ollama rm` through TensorWall empties the farm of the model as it empties one Ollama. Nodes
    /// without it answer 404, which is no failure; Ollama's empty 200 when at least one node deleted
    /// it and none failed.
    func deleteModel(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let model = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard !model.isEmpty else { return await respond(writer, APIError(status: 400, #"name "" is invalid"#), openAI: false) }
        await changeModelFiles(fields: fields, method: "DELETE", path: "/api/delete", done: "deleted \(model)", writer)
    }

    /// `POST /api/copy`: sent to every healthy node (or the one named in `"node"`); those that hold
    /// the source copy it under the new name, and those without it answer 404, which is no failure:
    /// the copy is found on the nodes that had the source.
    func copyModel(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let source = fields["source"]?.stringValue ?? ""
        let destination = fields["destination"]?.stringValue ?? ""
        guard !source.isEmpty else { return await respond(writer, APIError(status: 400, #"source "" is invalid"#), openAI: false) }
        guard !destination.isEmpty else {
            return await respond(writer, APIError(status: 400, #"destination "" is invalid"#), openAI: false)
        }
        await changeModelFiles(fields: fields, method: "POST", path: "/api/copy", done: "copied \(source) to \(destination)", writer)
    }

    /// Sends the change to its nodes at once, answers with what they answered together
    /// (`ModelFileChangeAnswers`), and has the nodes probed again so routing sees their new lists.
    private func changeModelFiles(
        fields: JSONObject, method: String, path: String, done: String, _ writer: HTTPResponseWriter
    ) async {
        var fields = fields
        let targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to change") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        fields["node"] = nil
        let body = JSONValue.object(fields).serialized()
        var answers = ModelFileChangeAnswers()
        for (node, answer) in await askEachNode(targets, method, path: path, body: body) { answers.record(answer, from: node) }
        if !answers.changed.isEmpty {
            logger.info("\(done) on \(answers.changed.sorted().joined(separator: ", "))")
            await relearnFarmModels()
        }
        switch answers.verdict {
        case .done: try? await writer.respond(status: 200)
        case .failed(let error): await respond(writer, error, openAI: false)
        }
    }
}
