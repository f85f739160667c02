import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/create` from a model the farm has (`"from"`, what `ollama create NAME -f
    /// Modelfile` sends for `FROM llama3.2`): made on every healthy node that holds the base, so the
    /// custom model serves wherever its base does, with progress per node (`relayProgress`). When no
    /// node holds the base, every healthy node makes it, and each Ollama pulls the base first as it
    /// would alone. `"node"` names one node. A model made from uploaded files (`"files"`, and
    /// `"adapters"` beside either) is made on every healthy node: the client uploaded the blobs
    /// through TensorWall first (`uploadBlob`), which put them on every healthy node.
    func createModel(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let name = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard ModelName(name) != nil else { return await respond(writer, APIError(status: 400, "invalid model name"), openAI: false) }
        let from = fields["from"]?.stringValue.flatMap(ModelName.init)
        let fromFiles = fields["files"]?.objectValue.map { !$0.isEmpty } ?? false
        guard from != nil || fromFiles else {
            return await respond(writer, APIError(status: 400, "neither 'from' or 'files' was specified"), openAI: false)
        }
        var targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to create on") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        if let from, !fromFiles {
            let holdingBase = targets.filter { $0.hasPulled(from) }
            if !holdingBase.isEmpty { targets = holdingBase }
        }
        let succeeded = await relayProgress(of: "/api/create", verb: "create", fields: fields, to: targets, writer)
        let source = from.map { "from \($0)" } ?? "from uploaded files"
        if !succeeded.isEmpty { logger.info("created \(name) \(source) on \(succeeded.joined(separator: ", "))") }
    }
}
