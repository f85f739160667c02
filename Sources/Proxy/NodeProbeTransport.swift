import Balancer
import HTTP1
import Health

/// Probes nodes with the same keep-alive client that carries requests.
struct NodeProbeTransport: ProbeTransport {
    let client: HTTPClient

    func get(_ node: NodeURL, path: String, timeout: Duration) async throws -> (status: Int, body: [UInt8]) {
        let request = HTTPClientRequest(method: "GET", host: node.host, port: node.port, target: node.basePath + path)
        let deadline = ContinuousClock.now + timeout
        return try await withThrowingTaskGroup(of: (status: Int, body: [UInt8])?.self) { group in
            group.addTask {
                let response = try await client.execute(
                    request, timeouts: HTTPClientTimeouts(connect: timeout, responseHead: timeout, idleRead: timeout))
                return (response.status, try await response.collect(limit: 16 * 1024 * 1024))
            }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw ProbeFailure("timed out after \(timeout)")
            }
            return answer
        }
    }
}
