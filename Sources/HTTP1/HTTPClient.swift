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
        // Pooled per event loop: a connection stays registered with the loop whose tasks use it.
        let key = "\(request.host):\(request.port)#\(EventLoop.forCurrentTask.index)"
        if let pooled = pool.checkOut(key) {
            do {
                return try await exchange(request, on: pooled, timeouts: timeouts)
            } catch is StaleConnection {
                // The pooled connection had died: a fresh one below.
            } catch {
                throw Self.sent(error)
            }
        }
        let fresh: HTTPClientConnection
        do {
            fresh = try await HTTPClientConnection.open(
                host: request.host, port: request.port, poolKey: key, deadline: .now + timeouts.connect)
        } catch {
            if error is CancellationError { throw error }
            throw HTTPExchangeError.connect(error)
        }
        do {
            return try await exchange(request, on: fresh, timeouts: timeouts)
        } catch is StaleConnection {
            throw HTTPExchangeError.beforeResponse(SocketError.closed)
        } catch {
            throw Self.sent(error)
        }
    }

    private static func sent(_ error: any Error) -> any Error {
        error is CancellationError ? error : HTTPExchangeError.beforeResponse(error)
    }

    public func shutdown() {
        pool.closeAll()
    }

    private struct StaleConnection: Error {}

    private func exchange(_ request: HTTPClientRequest, on connection: HTTPClientConnection, timeouts: HTTPClientTimeouts)
        async throws -> HTTPClientResponse
    {
        var bytes = request.serializedHead()
        bytes.append(contentsOf: request.body)
        let socket = connection.socket
        let buffer = connection.buffer
        do {
            try await socket.write(bytes, until: .now + timeouts.responseHead)
            let deadline = ContinuousClock.now + timeouts.responseHead
            var scanned = 0
            while true {
                if let end = buffer.firstOffset(of: Self.headEnd, from: max(0, scanned - 3)) {
                    let head = try HTTPHeadParser.response(
                        HTTPHeadParser.parse(UnsafeRawBufferPointer(rebasing: buffer.readable[..<end]), startLineParts: 3))
                    buffer.consume(end + 4)
                    let status = head.status
                    if status / 100 == 1 {
                        scanned = 0
                        continue  // 100 Continue and friends: the real head follows
                    }
                    let framing = try BodyFraming.forResponse(status: status, method: request.method, headers: head.headers)
                    let keepAlive =
                        !head.headers.hasToken("close", in: "Connection") && head.versionMinor == 1 && framing != .untilClose
                    return HTTPClientResponse(
                        status: status, headers: head.headers, framing: framing, connection: connection, pool: pool,
                        idleTimeout: timeouts.idleRead, keepAlive: keepAlive)
                }
                scanned = buffer.readableCount
                if scanned > Self.maxHeadBytes { throw HTTPParseError.headersTooLarge }
                if try await socket.read(into: buffer, until: deadline) == 0 {
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
