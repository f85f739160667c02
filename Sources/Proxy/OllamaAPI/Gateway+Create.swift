import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/create` from a model the farm has (`"from"`, what `ollama create NAME -f
    /// Modelfile` sends for `FROM llama3.2`): made on every healthy node that holds the base, so the
    /// custom model serves wherever its base does, with progress per node (`relayProgress`). When no
    /// node holds the base, every healthy node makes it, and each Ollama pulls the base first as it
    /// would alone. `"node"` names one node. A model made from uploaded files (`"files"`,
    /// `"adapters"`) is declined: its blobs go to one Ollama (`/api/blobs`), which TensorWall does
    /// not fan out; make it on a node, then pull or copy it.
    func createModel(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let name = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard ModelName(name) != nil else { return await respond(writer, APIError(status: 400, "invalid model name"), openAI: false) }
        if fields["files"] != nil || fields["adapters"] != nil {
            let message =
                "creating a model from uploaded files is not served through TensorWall: run it against a node, then pull or copy it"
            return await respond(writer, APIError(status: 501, message), openAI: false)
        }
        guard let from = fields["from"]?.stringValue.flatMap(ModelName.init) else {
            return await respond(writer, APIError(status: 400, "neither 'from' or 'files' was specified"), openAI: false)
        }
        var targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to create on") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        let holdingBase = targets.filter { $0.hasPulled(from) }
        if !holdingBase.isEmpty { targets = holdingBase }
        let succeeded = await relayProgress(of: "/api/create", verb: "create", fields: fields, to: targets, writer)
        if !succeeded.isEmpty { logger.info("created \(name) from \(from) on \(succeeded.joined(separator: ", "))") }
    }
}
