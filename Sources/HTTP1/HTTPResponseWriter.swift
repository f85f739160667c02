/// Writes one response: either whole (`respond`) or streamed (`start`, `write`, `finish`). A
/// handler sees only this, so it runs the same on a socket (`SocketResponseWriter`) and in memory
/// (`InMemoryResponseWriter`, for tests that need no socket).
public protocol HTTPResponseWriter: Sendable {
    /// Whether the response head has gone out (after that, errors can only be reported in-band).
    var headSent: Bool { get }
    /// The status sent (0 before the head).
    var status: Int { get }
    /// A write failed: the client is gone or stopped reading.
    var isBroken: Bool { get }
    /// Asks for the connection to close after this response.
    func closeConnectionAfterResponse()
    /// Drops the connection without finishing the response (what a crashed upstream looks like).
    func abortConnection()
    /// Sends a complete response at once.
    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) async throws
    /// Sends the head of a streamed response; the body follows through `write` and `finish`.
    func start(status: Int, headers: HTTPHeaders) async throws
    /// Sends one piece of a streamed body at once.
    func write(_ bytes: [UInt8]) async throws
    /// Ends a streamed body.
    func finish() async throws
}

extension HTTPResponseWriter {
    public func respond(status: Int, headers: HTTPHeaders = HTTPHeaders()) async throws {
        try await respond(status: status, headers: headers, body: [])
    }

    public func start(status: Int) async throws {
        try await start(status: status, headers: HTTPHeaders())
    }
}

/// Thrown when a handler tries to start a second response on one request.
public struct HTTPHeadAlreadySent: Error {}
