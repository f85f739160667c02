import Balancer
import HTTP1

extension HTTPClientRequest {
    /// A request to one of a node's Ollama endpoints: `path` under the node's base path, and a
    /// POST's body marked as JSON unless `contentType` says otherwise. Every exchange with a node is built here.
    static func toNode(
        _ url: NodeURL, _ method: String = "POST", path: String, body: [UInt8] = [], contentType: String = "application/json",
        accept: String? = nil
    ) -> HTTPClientRequest {
        var headers = HTTPHeaders()
        if method == "POST" || !body.isEmpty { headers.add("Content-Type", contentType) }
        if let accept { headers.add("Accept", accept) }
        return HTTPClientRequest(method: method, host: url.host, port: url.port, target: url.basePath + path, headers: headers, body: body)
    }
}
