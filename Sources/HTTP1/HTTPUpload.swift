/// A request whose body goes upstream piece by piece as it arrives, on a connection of its own: an
/// upload too large to hold (a model's weights relayed to every node's `/api/blobs`).
// @unchecked Sendable: driven by one task at a time, which sends every piece and then awaits the
// response; its state is never read while another task owns it.
public final class HTTPUpload: @unchecked Sendable {
    private let client: HTTPClient
    private let pending: HTTPPendingResponse
    private let connection: HTTPClientConnection
    private let isChunked: Bool

    private init(client: HTTPClient, pending: HTTPPendingResponse, connection: HTTPClientConnection, isChunked: Bool) {
        self.client = client
        self.pending = pending
        self.connection = connection
        self.isChunked = isChunked
    }

    /// Connects and sends the head of `request` (its `body` is ignored).
    /// - Parameter length: the body's length; nil sends it chunked.
    public static func start(_ request: HTTPClientRequest, length: Int?, client: HTTPClient, timeouts: HTTPClientTimeouts)
        async throws -> HTTPUpload
    {
        let connection: HTTPClientConnection
        do {
            connection = try await HTTPClientConnection.open(
                host: request.host, port: request.port, poolKey: "\(request.host):\(request.port)#\(EventLoop.forCurrentTask.index)",
                deadline: .now + timeouts.connect)
        } catch {
            throw HTTPExchangeError.connect(error)
        }
        let pending = HTTPPendingResponse(request: request, timeouts: timeouts, poolKey: connection.poolKey, connection: connection)
        let upload = HTTPUpload(client: client, pending: pending, connection: connection, isChunked: length == nil)
        try await upload.write(request.serializedHead(streamed: length.map { .length($0) } ?? .chunked))
        return upload
    }

    /// Sends the next piece of the body.
    public func send(_ piece: [UInt8]) async throws {
        guard !piece.isEmpty else { return }
        guard isChunked else { return try await write(piece) }
        var framed = Array("\(String(piece.count, radix: 16))\r\n".utf8)
        framed.reserveCapacity(framed.count + piece.count + 2)
        framed.append(contentsOf: piece)
        framed.append(contentsOf: [13, 10])
        try await write(framed)
    }

    /// Ends the body and waits for the response head.
    public func response() async throws -> HTTPClientResponse {
        if isChunked { try await write(Array("0\r\n\r\n".utf8)) }
        pending.headDeadline = .now + pending.timeouts.responseHead
        pending.scanned = 0
        return try await client.response(to: pending)
    }

    private func write(_ bytes: [UInt8]) async throws {
        do {
            try await connection.socket.write(bytes, until: .now + pending.timeouts.idleRead)
        } catch {
            connection.socket.close()
            throw HTTPExchangeError.beforeResponse(error)
        }
    }
}
