/// An upstream response whose body is pulled piece by piece as it arrives, so a stream is passed
/// on without being buffered. Reading to the end returns the connection to the pool; dropping
/// the response early closes it (which is how Ollama learns the request was abandoned).
public final class HTTPClientResponse {
    public let status: Int
    public let headers: HTTPHeaders
    private var connection: HTTPClientConnection?
    private let pool: HTTPConnectionPool
    private var framing: BodyFraming
    private var decoder = ChunkedDecoder()
    private var pendingConsume = 0
    private let idleTimeout: Duration
    private let keepAlive: Bool

    init(
        status: Int, headers: HTTPHeaders, framing: BodyFraming, connection: HTTPClientConnection,
        pool: HTTPConnectionPool, idleTimeout: Duration, keepAlive: Bool
    ) {
        self.status = status
        self.headers = headers
        self.framing = framing
        self.connection = connection
        self.pool = pool
        self.idleTimeout = idleTimeout
        self.keepAlive = keepAlive
        if framing == .none { release(reusable: true) }
    }

    deinit {
        connection?.socket.close()
    }

    /// The next piece of the body as it arrived; nil at the end.
    public func next() async throws -> [UInt8]? {
        guard let connection else { return nil }
        let buffer = connection.buffer
        do {
            while true {
                switch framing {
                case .none:
                    release(reusable: true)
                    return nil
                case .contentLength(let remaining):
                    if remaining == 0 {
                        framing = .none
                        continue
                    }
                    if buffer.isEmpty {
                        try await fill(connection)
                    }
                    let count = min(remaining, buffer.readableCount)
                    framing = .contentLength(remaining - count)
                    return buffer.take(count)
                case .untilClose:
                    if buffer.isEmpty {
                        if try await connection.socket.read(into: buffer, until: .now + idleTimeout) == 0 {
                            release(reusable: false)
                            return nil
                        }
                    }
                    return buffer.take(buffer.readableCount)
                case .chunked:
                    // Chunks already read go out together: a node that streams faster than the reader
                    // asks (or a burst after a stall) costs one pass through the caller (a translation,
                    // a write to the client) instead of one per chunk.
                    var joined = [UInt8]()
                    var ended = false
                    decoding: while true {
                        switch try decoder.next(from: buffer, pendingConsume: &pendingConsume) {
                        case .data(let piece): joined.append(contentsOf: piece)
                        case .needMore: break decoding
                        case .end:
                            ended = true
                            break decoding
                        }
                    }
                    if ended { framing = .none }
                    if !joined.isEmpty { return joined }
                    if !ended { try await fill(connection) }
                }
            }
        } catch {
            release(reusable: false)
            throw error
        }
    }

    /// Reads the whole body, refusing more than `limit` bytes.
    public func collect(limit: Int = 64 * 1024 * 1024) async throws -> [UInt8] {
        var body = [UInt8]()
        while let piece = try await next() {
            body.append(contentsOf: piece)
            if body.count > limit { throw HTTPParseError.bodyTooLarge }
        }
        return body
    }

    /// Abandons the rest of the body and closes the connection.
    public func close() {
        release(reusable: false)
    }

    private func fill(_ connection: HTTPClientConnection) async throws {
        if try await connection.socket.read(into: connection.buffer, until: .now + idleTimeout) == 0 {
            throw SocketError.closed
        }
    }

    private func release(reusable: Bool) {
        guard let connection else { return }
        self.connection = nil
        if reusable && keepAlive && connection.buffer.isEmpty {
            pool.checkIn(connection)
        } else {
            connection.socket.close()
        }
    }
}
