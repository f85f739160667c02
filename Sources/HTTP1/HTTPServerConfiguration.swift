/// Limits and timeouts that protect the server from slow, oversized or idle clients.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var maxHeaderBytes = 32 * 1024
    public var maxBodyBytes = 64 * 1024 * 1024
    /// From a connection's (or a request's) first byte until its head is complete.
    public var headerTimeout: Duration = .seconds(10)
    /// How long a keep-alive connection may sit between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a body may take to arrive, and a response write may stall.
    public var bodyTimeout: Duration = .seconds(60)
    public var maxConnections = 10_000
    public var backlog: Int32 = 1024
    /// Requests with a larger body are handled on the cooperative pool rather than the event
    /// loop's thread, so decoding them does not stall other connections.
    public var loopBodyLimit = 256 * 1024
    /// Requests whose body the handler reads as it arrives (`HTTPRequest.streamedBody`), with no
    /// `maxBodyBytes` limit: uploads too large to hold. Picked by method and path.
    public var streamsBody: @Sendable (_ method: String, _ path: Substring) -> Bool = { _, _ in false }
    /// How much of a streamed body the handler left unread is read and dropped to keep the
    /// connection; past it the connection closes.
    public var maxDiscardedBodyBytes = 1024 * 1024

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Renders an error the server itself produces (bad framing, too large, ...) in the client's format.
public typealias HTTPErrorRenderer =
    @Sendable (_ status: Int, _ message: String, _ path: Substring?) -> (
        contentType: String, body: [UInt8]
    )

public typealias HTTPHandler = @Sendable (HTTPRequest, any HTTPResponseWriter) async -> Void
