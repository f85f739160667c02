import Synchronization

/// The response writer of a real connection: HTTP/1.1 on the socket, with chunked coding when the
/// length is not known so every event reaches the client as it is written. An HTTP/1.0 client knows
/// no chunked coding (RFC 9112 §6.1: a server must not send it one), so its streamed answers are
/// ended by closing the connection instead, as Go's server (Ollama) ends them.
final class SocketResponseWriter: HTTPResponseWriter {
    private let socket: Socket
    private let isHead: Bool
    private let writeTimeout: Duration
    /// Whether the client reads chunked coding (it asked in HTTP/1.1).
    private let clientReadsChunks: Bool
    private let state: Mutex<State>

    struct State {
        var headSent = false
        var chunked = false
        var finished = false
        var closeAfter: Bool
        var failed = false
        var status = 0
    }

    init(socket: Socket, isHead: Bool, keepAlive: Bool, writeTimeout: Duration, clientReadsChunks: Bool = true) {
        self.socket = socket
        self.isHead = isHead
        self.writeTimeout = writeTimeout
        self.clientReadsChunks = clientReadsChunks
        self.state = Mutex(State(closeAfter: !keepAlive))
    }

    /// Whether the response head has gone out (after that, errors can only be reported in-band).
    var headSent: Bool { state.withLock { $0.headSent } }
    var status: Int { state.withLock { $0.status } }
    /// A write failed: the client is gone or stopped reading.
    var isBroken: Bool { state.withLock { $0.failed } || socket.isClosed }
    var isFinished: Bool { state.withLock { $0.finished } }
    var closeAfter: Bool { state.withLock { $0.closeAfter || $0.failed } }

    /// Asks for the connection to close after this response.
    func closeConnectionAfterResponse() {
        state.withLock { $0.closeAfter = true }
    }

    /// Drops the connection without finishing the response (what a crashed upstream looks like).
    func abortConnection() {
        state.withLock { $0.failed = true }
        socket.close()
    }

    /// Sends a complete response in a single write.
    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) async throws {
        var head = try beginHead(status: status, headers: headers, contentLength: body.count)
        if !isHead { head.append(contentsOf: body) }
        state.withLock { $0.finished = true }
        try await send(head)
    }

    /// Sends the head of a streamed response; the body follows through `write` and `finish`.
    func start(status: Int, headers: HTTPHeaders) async throws {
        let head = try beginHead(status: status, headers: headers, contentLength: nil)
        try await send(head)
    }

    /// Sends one piece of a streamed body at once.
    func write(_ bytes: [UInt8]) async throws {
        guard !bytes.isEmpty, !isHead else { return }
        let chunked = state.withLock { $0.chunked }
        if chunked {
            var frame = [UInt8]()
            frame.reserveCapacity(bytes.count + 12)
            frame.append(contentsOf: String(bytes.count, radix: 16).utf8)
            frame.append(13)
            frame.append(10)
            frame.append(contentsOf: bytes)
            frame.append(13)
            frame.append(10)
            try await send(frame)
        } else {
            try await send(bytes)
        }
    }

    /// Ends a streamed body.
    func finish() async throws {
        let (chunked, alreadyFinished) = state.withLock { state in
            defer { state.finished = true }
            return (state.chunked, state.finished)
        }
        guard !alreadyFinished else { return }
        if chunked && !isHead { try await send([48, 13, 10, 13, 10]) }
    }

    private func beginHead(status: Int, headers: HTTPHeaders, contentLength: Int?) throws -> [UInt8] {
        let started = state.withLock { state -> (closeAfter: Bool, chunked: Bool)? in
            guard !state.headSent else { return nil }
            state.headSent = true
            state.status = status
            state.chunked = contentLength == nil && clientReadsChunks
            // A body of unknown length to a client without chunks ends where the connection does.
            if contentLength == nil && !clientReadsChunks { state.closeAfter = true }
            return (state.closeAfter, state.chunked)
        }
        guard let (closeAfter, chunked) = started else { throw HTTPHeadAlreadySent() }
        var text = "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n"
        for (name, value) in headers
        where !name.caseInsensitiveEquals("Content-Length") && !name.caseInsensitiveEquals("Transfer-Encoding")
            && !name.caseInsensitiveEquals("Connection")
        {
            text += "\(name): \(value)\r\n"
        }
        if headers["Date"] == nil { text += "Date: \(DateHeader.now())\r\n" }
        if let contentLength {
            // RFC 9110: a 204 or 304 carries no Content-Length (it has no body to measure).
            if status != 204 && status != 304 { text += "Content-Length: \(contentLength)\r\n" }
        } else if chunked {
            text += "Transfer-Encoding: chunked\r\n"
        }
        if closeAfter { text += "Connection: close\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    private func send(_ bytes: [UInt8]) async throws {
        do {
            try await socket.write(bytes, until: .now + writeTimeout)
        } catch {
            state.withLock { $0.failed = true }
            throw error
        }
    }
}
