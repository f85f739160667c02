import Balancer
import HTTP1
import WireFormats

/// Unloads a model from a node with Ollama's idiom: an empty generate request with
/// `keep_alive: 0`. Sent only for a model the node holds idle, which it then drops at once, so a
/// load that follows evicts exactly what TensorWall chose rather than what Ollama would pick.
struct ModelUnloader: Sendable {
    let cluster: Cluster
    let client: HTTPClient
    let timeouts: HTTPClientTimeouts
    let logger: Logger

    func unload(_ model: ModelName, on node: ClusterConfig.NodeConfig) async {
        let body: JSONValue = ["model": .string(model.canonical), "prompt": "", "stream": false, "keep_alive": 0]
        let request = HTTPClientRequest.toNode(node.url, path: "/api/generate", body: body.serialized())
        do {
            let response = try await client.execute(request, timeouts: timeouts)
            _ = try await response.collect(limit: 1024 * 1024)
            if response.status != 200 { logger.warning("unloading \(model) on \(node.name) answered \(response.status)") }
        } catch {
            logger.warning("unloading \(model) on \(node.name) failed: \(error)")
        }
        cluster.capacityChanged()
    }
}
