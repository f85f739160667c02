/// A request that has gone out to an upstream whose response head has not arrived by the moment
/// the caller asked to hear back. Awaiting it further (`HTTPClient.response(to:)`) picks up the same
/// exchange on the same connection; dropping it closes the connection, which is how the upstream
/// learns the request was abandoned.
///
/// It lets a caller act on an overdue head (start a second attempt elsewhere) without paying for a
/// timer and a child task on every request whose head comes in time.
// @unchecked Sendable: one task at a time awaits it, the one that sent the request and then at most
// the one child task it is handed to; its state is never read while another task owns it.
public final class HTTPPendingResponse: @unchecked Sendable {
    let request: HTTPClientRequest
    let timeouts: HTTPClientTimeouts
    let poolKey: String
    var connection: HTTPClientConnection?
    /// When the head must have arrived, counted from the send; nil until the request's bytes have
    /// gone out on `connection`.
    var headDeadline: ContinuousClock.Instant?
    /// How far the buffer was searched for the head's end.
    var scanned = 0

    init(request: HTTPClientRequest, timeouts: HTTPClientTimeouts, poolKey: String, connection: HTTPClientConnection?) {
        self.request = request
        self.timeouts = timeouts
        self.poolKey = poolKey
        self.connection = connection
    }

    deinit {
        connection?.socket.close()
    }

    /// Hands the connection over to the response that reads the body.
    func takeConnection() -> HTTPClientConnection? {
        defer { connection = nil }
        return connection
    }
}

/// What `HTTPClient.execute(_:timeouts:overdueAt:)` hands back.
public enum HTTPClientProgress {
    /// The response head arrived in time.
    case response(HTTPClientResponse)
    /// The head had not arrived by the given moment; the exchange goes on.
    case overdue(HTTPPendingResponse)
}
