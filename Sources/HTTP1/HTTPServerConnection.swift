/// Serves the requests of one client connection in order until it closes or times out.
final class HTTPServerConnection {
    let socket: Socket
    let configuration: HTTPServerConfiguration
    let handler: HTTPHandler
    let renderError: HTTPErrorRenderer
    private let buffer = ReadBuffer()
    private static let headEnd: [UInt8] = [13, 10, 13, 10]
    /// The target of the request being read, so refusals can be rendered in that API's error format.
    private var currentTarget: String?

    /// Told when each request starts and ends, so the server can drain; nil for a bare connection.
    private weak var server: HTTPServer?
    /// Cancels the task serving this connection when the client hangs up mid-request.
    private let hangUp: TaskCanceller

    init(
        socket: Socket, configuration: HTTPServerConfiguration, handler: @escaping HTTPHandler, renderError: @escaping HTTPErrorRenderer,
        server: HTTPServer? = nil, onHangUp: TaskCanceller
    ) {
        self.server = server
        self.hangUp = onHangUp
        self.socket = socket
        self.configuration = configuration
        self.handler = handler
        self.renderError = renderError
    }

    func run() async {
        var isFirstRequest = true
        while true {
            let request: HTTPRequest
            currentTarget = nil
            do {
                guard let next = try await readRequest(isFirst: isFirstRequest) else { return }
                request = next
            } catch let error as HTTPParseError {
                await refuse(status: error.status, message: error.message)
                return
            } catch {
                return  // timed out, reset or closed: nothing to answer
            }
            isFirstRequest = false
            server?.requestStarted(socket)
            let keepAlive = Self.wantsKeepAlive(request) && !(server?.isDraining ?? false)
            let writer = SocketResponseWriter(
                socket: socket, isHead: request.method == "HEAD", keepAlive: keepAlive, writeTimeout: configuration.bodyTimeout,
                clientReadsChunks: request.versionMinor >= 1)
            await serve(request, writer)
            var bodyRead = true
            if let streamed = request.streamedBody, !streamed.isFinished {
                bodyRead = await streamed.discardRest(limit: configuration.maxDiscardedBodyBytes)
            }
            let mayContinue = server?.requestFinished(socket) ?? true
            if !bodyRead {
                // Closed with the client still sending, the connection would be reset and the
                // answer lost: the client hears the close first, as with a refusal.
                if writer.isFinished, !socket.isClosed { await lingerBeforeClose() }
                return
            }
            if !writer.isFinished || writer.closeAfter || socket.isClosed || !mayContinue { return }
        }
    }

    /// Runs the handler while watching for the client to hang up; a hang-up cancels the handler,
    /// which is how an abandoned request frees its upstream slot at once. The handler runs in the
    /// connection's own task, and a hang-up cancels that task: the connection is over anyway, and a
    /// task of its own per request cost an allocation and two jobs through the loop's queue.
    private func serve(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        socket.watchForPeerClose { [hangUp] in hangUp.cancel() }
        if request.body.count > configuration.loopBodyLimit {
            // Small requests are served on the loop thread (see `EventLoop`). Decoding a large body
            // (a prompt with images) takes long enough to stall every other connection there, so
            // those run on the cooperative pool.
            await withTaskExecutorPreference(globalConcurrentExecutor) { await handler(request, writer) }
        } else {
            await handler(request, writer)
        }
        socket.stopWatchingForPeerClose()
    }

    static func wantsKeepAlive(_ request: HTTPRequest) -> Bool {
        if request.headers.hasToken("close", in: "Connection") { return false }
        if request.versionMinor == 0 { return request.headers.hasToken("keep-alive", in: "Connection") }
        return true
    }

    /// Reads the next request; nil when the client closed cleanly between requests.
    private func readRequest(isFirst: Bool) async throws -> HTTPRequest? {
        let startedAt = ContinuousClock.now
        var headerDeadline: ContinuousClock.Instant? = isFirst ? startedAt + configuration.headerTimeout : nil
        var scanned = 0
        while true {
            if let end = buffer.firstOffset(of: Self.headEnd, from: max(0, scanned - 3)) {
                if end + 4 > configuration.maxHeaderBytes { throw HTTPParseError.headersTooLarge }
                return try await completeRequest(headLength: end)
            }
            // Every byte buffered is the head so far. A line ended by a bare LF can never make a head
            // the strict parser takes, and a head ended by "\n\n" would never be found: said at once,
            // not after the header timeout with the connection closed and nothing answered.
            if buffer.containsBareLineFeed(from: max(0, scanned - 1)) {
                throw HTTPParseError.malformed("bare LF in request head (lines must end in CRLF)")
            }
            scanned = buffer.readableCount
            if scanned > configuration.maxHeaderBytes { throw HTTPParseError.headersTooLarge }
            if scanned > 0, headerDeadline == nil { headerDeadline = .now + configuration.headerTimeout }
            let deadline = headerDeadline ?? .now + configuration.idleTimeout
            let count = try await socket.read(into: buffer, until: deadline)
            if count == 0 {
                if buffer.isEmpty { return nil }
                throw SocketError.closed
            }
        }
    }

    private func completeRequest(headLength: Int) async throws -> HTTPRequest {
        let head = try HTTPHeadParser.parse(UnsafeRawBufferPointer(rebasing: buffer.readable[..<headLength]), startLineParts: 3)
        buffer.consume(headLength + 4)
        if head.startLine.count > 1 { currentTarget = String(head.startLine[1]) }  // refusals answer in that API's format
        let request = try HTTPHeadParser.request(head)
        let framing = try BodyFraming.forRequest(request.headers)
        if let expectation = request.headers["Expect"] {
            guard expectation.caseInsensitiveEquals("100-continue") else { throw HTTPParseError.expectationFailed }
        }
        // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
        let expectsContinue = request.headers["Expect"] != nil && request.versionMinor >= 1
        if framing != .none, configuration.streamsBody(request.method, request.target.prefix { $0 != "?" }) {
            let body = HTTPRequestBody(
                framing: framing, socket: socket, buffer: buffer, idleTimeout: configuration.bodyTimeout,
                expectsContinue: expectsContinue && buffer.isEmpty)
            return HTTPRequest(
                method: request.method, target: request.target, versionMinor: request.versionMinor, headers: request.headers,
                streamedBody: body)
        }
        let body = try await readBody(framing, expectsContinue: expectsContinue)
        return HTTPRequest(
            method: request.method, target: request.target, versionMinor: request.versionMinor, headers: request.headers, body: body)
    }

    private func readBody(_ framing: BodyFraming, expectsContinue: Bool) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + configuration.bodyTimeout
        switch framing {
        case .none, .untilClose:
            return []
        case .contentLength(let length):
            guard length <= configuration.maxBodyBytes else { throw HTTPParseError.bodyTooLarge }
            if expectsContinue && buffer.readableCount < length { try await sendContinue() }
            while buffer.readableCount < length {
                if try await socket.read(into: buffer, until: deadline) == 0 { throw SocketError.closed }
            }
            return buffer.take(length)
        case .chunked:
            if expectsContinue && buffer.isEmpty { try await sendContinue() }
            var decoder = ChunkedDecoder()
            var body = [UInt8]()
            var pending = 0
            while true {
                switch try decoder.next(from: buffer, pendingConsume: &pending) {
                case .data(let piece):
                    guard body.count + piece.count <= configuration.maxBodyBytes else { throw HTTPParseError.bodyTooLarge }
                    body.append(contentsOf: piece)
                case .needMore:
                    if try await socket.read(into: buffer, until: deadline) == 0 { throw SocketError.closed }
                case .end:
                    return body
                }
            }
        }
    }

    private func sendContinue() async throws {
        try await socket.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), until: .now + configuration.bodyTimeout)
    }

    /// Answers a request the server could not accept, then closes: after a framing error the
    /// byte stream cannot be trusted for another request.
    private func refuse(status: Int, message: String) async {
        let (contentType, body) = renderError(status, message, currentTarget.map { HTTPRequest(method: "", target: $0).path })
        let writer = SocketResponseWriter(socket: socket, isHead: false, keepAlive: false, writeTimeout: .seconds(5))
        var headers = HTTPHeaders()
        headers.add("Content-Type", contentType)
        try? await writer.respond(status: status, headers: headers, body: body)
        await lingerBeforeClose()
    }

    /// How long a refused client may go quiet before the connection closes, and how long it may keep sending in all.
    static let lingerIdle = Duration.seconds(5)
    static let lingerLimit = Duration.seconds(30)

    /// Reads and discards what the client is still sending (bounded in time and bytes) after our
    /// write side is shut, so a client busy uploading an oversized body receives the refusal
    /// instead of a connection reset that would destroy it. The wait is for the client to go quiet
    /// (`lingerIdle`), up to `lingerLimit` in all: a fixed two seconds let a 65 MB upload on a host
    /// busy with the whole test suite run past it, and the client saw `send: Broken pipe` in place
    /// of its 413. A wait that times out looks once more before closing: on a starved host the
    /// timer and the bytes that beat it can be seen in either order.
    private func lingerBeforeClose() async {
        SocketCalls.shutdownWrite(socket.fd)
        let limit = ContinuousClock.now + Self.lingerLimit
        var discarded = buffer.readableCount
        buffer.consume(buffer.readableCount)
        while discarded < 256 * 1024 * 1024 {
            let deadline = min(limit, ContinuousClock.now + Self.lingerIdle)
            var read = try? await socket.read(into: buffer, until: deadline)
            if read == nil, ContinuousClock.now < limit { read = try? await socket.read(into: buffer, until: .now) }
            guard let count = read, count > 0 else { return }
            discarded += count
            buffer.consume(buffer.readableCount)
        }
    }
}
