import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/push` (`ollama push`): sent to one healthy node that holds the model, since every
    /// copy of it is the same files and the registry needs them once. `"node"` names the node. When
    /// no healthy node holds it, the first healthy node answers, so the client gets the error Ollama
    /// gives for a model it lacks. Progress is relayed as pull's is (`relayProgress`).
    func push(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let model = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard !model.isEmpty else { return await respond(writer, APIError(status: 400, "model is required"), openAI: false) }
        let targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to push from") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        let holder = ModelName(model).flatMap { name in targets.first { $0.hasPulled(name) } }
        guard let source = holder ?? targets.first else { return }
        let succeeded = await relayProgress(
            of: "/api/push", verb: "push", fields: fields, to: [source], writer, relearnsModels: false)
        if !succeeded.isEmpty { logger.info("pushed \(model) from \(source.name)") }
    }
}
