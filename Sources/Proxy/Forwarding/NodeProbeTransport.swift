import Balancer
import HTTP1
import Health

/// Probes nodes with the same keep-alive client that carries requests. The client's own
/// deadlines bound each probe (connect, response head, each body read), so no timer task is
/// raced and cancelled per probe.
struct NodeProbeTransport: ProbeTransport {
    let client: HTTPClient

    func get(_ node: NodeURL, path: String, timeout: Duration) async throws -> (status: Int, body: [UInt8], date: String?) {
        let request = HTTPClientRequest.toNode(node, "GET", path: path)
        do {
            let response = try await client.execute(
                request, timeouts: HTTPClientTimeouts(connect: timeout, responseHead: timeout, idleRead: timeout))
            return (response.status, try await response.collect(limit: 16 * 1024 * 1024), response.headers["Date"])
        } catch let error as HTTPExchangeError where error.cause as? SocketError == .timedOut {
            throw ProbeFailure("timed out after \(timeout)")
        }
    }
}
