/// A request body the handler reads piece by piece, for uploads too large to hold in memory (a
/// model's weights on their way to `/api/blobs`, gigabytes each). The server hands one over in
/// place of `HTTPRequest.body` for the requests `HTTPServerConfiguration.streamsBody` picks, and
/// drops what the handler leaves unread before the connection serves another request.
// @unchecked Sendable: read only by the task serving the connection, one read at a time; it is
// never handed to another task.
public final class HTTPRequestBody: @unchecked Sendable {
    /// The body's `Content-Length`; nil when it comes chunked.
    public let declaredLength: Int?
    private let socket: Socket
    private let buffer: ReadBuffer
    private let idleTimeout: Duration
    private var remaining: Int
    private var decoder: ChunkedDecoder?
    private var pendingConsume = 0
    private var owesContinue: Bool
    /// Whether every byte of the body has been read.
    public private(set) var isFinished = false

    init(framing: BodyFraming, socket: Socket, buffer: ReadBuffer, idleTimeout: Duration, expectsContinue: Bool) {
        switch framing {
        case .contentLength(let length):
            declaredLength = length
            remaining = length
        case .chunked:
            declaredLength = nil
            remaining = 0
            decoder = ChunkedDecoder()
        case .none, .untilClose:
            declaredLength = 0
            remaining = 0
            isFinished = true
        }
        self.socket = socket
        self.buffer = buffer
        self.idleTimeout = idleTimeout
        owesContinue = expectsContinue
    }

    /// The next piece of the body (as much as has arrived), or nil once it has all been read. Waits
    /// at most the server's body timeout for each piece, not for the whole body.
    public func next() async throws -> [UInt8]? {
        guard !isFinished else { return nil }
        guard var decoder else {
            if buffer.isEmpty { try await fill() }
            let count = min(remaining, buffer.readableCount)
            remaining -= count
            isFinished = remaining == 0
            return buffer.take(count)
        }
        defer { self.decoder = decoder }
        while true {
            switch try decoder.next(from: buffer, pendingConsume: &pendingConsume) {
            case .data(let piece): return [UInt8](piece)
            case .needMore: try await fill()
            case .end:
                isFinished = true
                return nil
            }
        }
    }

    /// Reads and drops the rest of the body, if it is no more than `limit` bytes; false when more
    /// remains (the connection must then close) or the client stopped sending. A client that waits
    /// for `100 Continue` is not told to send a body nobody reads: false, and the connection closes.
    public func discardRest(limit: Int) async -> Bool {
        if owesContinue { return isFinished }
        var dropped = 0
        while !isFinished {
            guard dropped <= limit, let piece = try? await next() else { return isFinished }
            dropped += piece.count
        }
        return true
    }

    /// The room each read is offered: an upload of gigabytes in 16 KiB pieces spent its time on
    /// one system call and one copy per piece per node.
    static let pieceBytes = 256 * 1024

    private func fill() async throws {
        if owesContinue {
            owesContinue = false
            try await socket.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), until: .now + idleTimeout)
        }
        if try await socket.read(into: buffer, until: .now + idleTimeout, space: Self.pieceBytes) == 0 { throw SocketError.closed }
    }
}
