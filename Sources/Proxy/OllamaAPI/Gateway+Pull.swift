import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/pull`: to the node named in `"node"`, or to every healthy node at once, with
    /// progress per node (`relayProgress`).
    func pull(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard let fields = await farmChangeFields(request, writer) else { return }
        let model = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard !model.isEmpty else { return await respond(writer, APIError(status: 400, "model is required"), openAI: false) }
        let targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to pull to") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        let succeeded = await relayProgress(of: "/api/pull", verb: "pull", fields: fields, to: targets, writer)
        if !succeeded.isEmpty { logger.info("pulled \(model) on \(succeeded.joined(separator: ", "))") }
    }
}
