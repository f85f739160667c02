import Balancer

/// How the monitor reaches a node. The proxy supplies the real HTTP client; tests may supply their own.
public protocol ProbeTransport: Sendable {
    /// GETs `path` from the node; throws on connection failure or when `timeout` passes. `date` is the
    /// answer's `Date` header: the node's clock.
    func get(_ node: NodeURL, path: String, timeout: Duration) async throws -> (status: Int, body: [UInt8], date: String?)
}

/// Why a probe failed, in words for the log and `/status`.
public struct ProbeFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
