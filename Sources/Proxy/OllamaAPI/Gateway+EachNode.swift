import Balancer
import HTTP1

/// What one node answered to a small request TensorWall sent it on a client's behalf.
enum NodeAnswer: Sendable {
    case answered(status: Int, body: [UInt8])
    case unreachable(String)
}

extension Gateway {
    /// Sends the same small request (an answer of at most 64 KiB) to every node at once and returns
    /// each one's answer, in node-name order: the farm-wide changes and unloads one Ollama makes alone.
    func askEachNode(_ nodes: [NodeSnapshot], _ method: String = "POST", path: String, body: [UInt8]) async -> [(
        node: String, answer: NodeAnswer
    )] {
        await withTaskGroup(of: (node: String, answer: NodeAnswer).self) { group in
            for node in nodes {
                group.addTask { [client, upstreamTimeouts] in
                    do {
                        let response = try await client.execute(
                            HTTPClientRequest.toNode(node.url, method, path: path, body: body), timeouts: upstreamTimeouts)
                        return (node.name, .answered(status: response.status, body: try await response.collect(limit: 64 * 1024)))
                    } catch {
                        return (node.name, .unreachable("\(error)"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.node < $1.node }
        }
    }
}
