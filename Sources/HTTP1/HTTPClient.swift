/// A keep-alive HTTP/1.1 client for plain `http://` upstreams (the Ollama nodes). It is ours rather
/// than URLSession because URLSession caps connections per host and is far slower on loopback.
public final class HTTPClient: Sendable {
    private let pool: HTTPConnectionPool
    private static let headEnd: [UInt8] = [13, 10, 13, 10]
    private static let maxHeadBytes = 64 * 1024

    public init(maxIdlePerHost: Int = 256) {
        pool = HTTPConnectionPool(maxIdlePerHost: maxIdlePerHost)
    }

    /// Sends `request` and returns once the response head has arrived; the body is read from the response.
    /// A pooled connection that turns out to be dead before any response byte is retried once on a new one.
    public func execute(_ request: HTTPClientRequest, timeouts: HTTPClientTimeouts = HTTPClientTimeouts()) async throws
        -> HTTPClientResponse
    {
        switch try await execute(request, timeouts: timeouts, overdueAt: nil) {
        case .response(let response): return response
        case .overdue(let pending): return try await response(to: pending)
        }
    }

    /// Sends `request` like `execute(_:timeouts:)`, but if its response head has not arrived by
    /// `overdueAt` hands back the exchange still in progress instead of waiting on.
    public func execute(_ request: HTTPClientRequest, timeouts: HTTPClientTimeouts, overdueAt: ContinuousClock.Instant?)
        async throws -> HTTPClientProgress
    {
        // Pooled per event loop: a connection stays registered with the loop whose tasks use it.
        let key = "\(request.host):\(request.port)#\(EventLoop.forCurrentTask.index)"
        let pending = HTTPPendingResponse(request: request, timeouts: timeouts, poolKey: key, connection: pool.checkOut(key))
        if let response = try await proceed(pending, overdueAt: overdueAt) { return .response(response) }
        return .overdue(pending)
    }

    /// Waits on for an overdue exchange's response head, up to the request's own head timeout.
    public func response(to pending: HTTPPendingResponse) async throws -> HTTPClientResponse {
        guard let response = try await proceed(pending, overdueAt: nil) else {
            preconditionFailure("an exchange without a moment to be overdue by came back overdue")
        }
        return response
    }

    /// Waits on for an overdue exchange's response head until `overdueAt`, and hands the exchange
    /// back again if the head has still not come: a caller can look around (is the upstream still
    /// in service?) between waits without a timer or a child task of its own.
    public func response(to pending: HTTPPendingResponse, overdueAt: ContinuousClock.Instant) async throws -> HTTPClientProgress {
        if let response = try await proceed(pending, overdueAt: overdueAt) { return .response(response) }
        return .overdue(pending)
    }

    private func proceed(_ pending: HTTPPendingResponse, overdueAt: ContinuousClock.Instant?) async throws
        -> HTTPClientResponse?
    {
        while true {
            if pending.connection == nil {
                do {
                    pending.connection = try await HTTPClientConnection.open(
                        host: pending.request.host, port: pending.request.port, poolKey: pending.poolKey,
                        deadline: .now + pending.timeouts.connect)
                } catch {
                    if error is CancellationError { throw error }
                    throw HTTPExchangeError.connect(error)
                }
            }
            do {
                return try await exchange(pending, overdueAt: overdueAt)
            } catch is StaleConnection {
                // The pooled connection had died before any response byte: once more on a fresh one
                // (which is not reused, so cannot be stale).
                pending.connection = nil
                pending.headDeadline = nil
            } catch {
                throw Self.sent(error)
            }
        }
    }

    private static func sent(_ error: any Error) -> any Error {
        error is CancellationError ? error : HTTPExchangeError.beforeResponse(error)
    }

    public func shutdown() {
        pool.closeAll()
    }

    private struct StaleConnection: Error {}

    /// Sends the request if it has not gone out yet and reads until the response head is complete;
    /// nil when `overdueAt` comes first (the connection stays open for a later call).
    private func exchange(_ pending: HTTPPendingResponse, overdueAt: ContinuousClock.Instant?) async throws
        -> HTTPClientResponse?
    {
        guard let connection = pending.connection else { preconditionFailure("an exchange without a connection") }
        let socket = connection.socket
        let buffer = connection.buffer
        do {
            let headDeadline: ContinuousClock.Instant
            if let sentDeadline = pending.headDeadline {
                headDeadline = sentDeadline
            } else {
                var bytes = pending.request.serializedHead()
                bytes.append(contentsOf: pending.request.body)
                try await socket.write(bytes, until: .now + pending.timeouts.responseHead)
                headDeadline = .now + pending.timeouts.responseHead
                pending.headDeadline = headDeadline
                pending.scanned = 0
            }
            while true {
                if let end = buffer.firstOffset(of: Self.headEnd, from: max(0, pending.scanned - 3)) {
                    let head = try HTTPHeadParser.response(
                        HTTPHeadParser.parse(UnsafeRawBufferPointer(rebasing: buffer.readable[..<end]), startLineParts: 3))
                    buffer.consume(end + 4)
                    let status = head.status
                    if status / 100 == 1 {
                        pending.scanned = 0
                        continue  // 100 Continue and friends: the real head follows
                    }
                    let framing = try BodyFraming.forResponse(status: status, method: pending.request.method, headers: head.headers)
                    let keepAlive =
                        !head.headers.hasToken("close", in: "Connection") && head.versionMinor == 1 && framing != .untilClose
                    _ = pending.takeConnection()
                    return HTTPClientResponse(
                        status: status, headers: head.headers, framing: framing, connection: connection, pool: pool,
                        idleTimeout: pending.timeouts.idleRead, keepAlive: keepAlive)
                }
                pending.scanned = buffer.readableCount
                if pending.scanned > Self.maxHeadBytes { throw HTTPParseError.headersTooLarge }
                let waitUntil = overdueAt.map { min($0, headDeadline) } ?? headDeadline
                let count: Int
                do {
                    count = try await socket.read(into: buffer, until: waitUntil)
                } catch SocketError.timedOut where waitUntil < headDeadline {
                    return nil
                }
                if count == 0 {
                    if connection.reused && buffer.isEmpty { throw StaleConnection() }
                    throw SocketError.closed
                }
            }
        } catch let error as SocketError where connection.reused && buffer.isEmpty && error.isResetOrPipe {
            socket.close()
            throw StaleConnection()
        } catch {
            socket.close()
            throw error
        }
    }
}

/// Where an exchange failed, which decides whether the upstream may have started on the request.
public enum HTTPExchangeError: Error, CustomStringConvertible {
    /// No connection could be made: nothing was sent.
    case connect(any Error)
    /// The request was (or may have been) sent, but no response head arrived.
    case beforeResponse(any Error)

    public var cause: any Error {
        switch self {
        case .connect(let cause), .beforeResponse(let cause): return cause
        }
    }

    public var description: String { "\(cause)" }
}

extension SocketError {
    var isResetOrPipe: Bool {
        if case .system(_, let code) = self { return code == 104 /* ECONNRESET */ || code == 32 /* EPIPE */ }
        return false
    }
}
