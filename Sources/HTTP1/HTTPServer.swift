@preconcurrency import Glibc
import Synchronization

/// An HTTP/1.1 server on non-blocking sockets watched by the epoll loops (`EventLoop`): a task per
/// connection reads and answers its requests in order, no thread waits on a socket; keep-alive,
/// chunked bodies, hard limits on what a client may send, and a drain that lets requests finish.
public final class HTTPServer: Sendable {
    public let configuration: HTTPServerConfiguration
    private let handler: HTTPHandler
    private let renderError: HTTPErrorRenderer
    private let state = Mutex(State())

    private struct State {
        var listener: Socket?
        var acceptTask: Task<Void, Never>?
        var connections: [ObjectIdentifier: Socket] = [:]
        /// Connections with a request being handled (the rest sit idle between requests).
        var busy: Set<ObjectIdentifier> = []
        var draining = false
        var port = 0
    }

    public init(
        configuration: HTTPServerConfiguration,
        renderError: @escaping HTTPErrorRenderer = HTTPServer.plainTextError,
        handler: @escaping HTTPHandler
    ) {
        self.configuration = configuration
        self.handler = handler
        self.renderError = renderError
        signal(SIGPIPE, SIG_IGN)
    }

    public static let plainTextError: HTTPErrorRenderer = { _, message, _ in
        ("text/plain; charset=utf-8", Array(message.utf8))
    }

    /// The bound port (the real one when the configuration asked for port 0).
    public var port: Int { state.withLock { $0.port } }

    public var openConnections: Int { state.withLock { $0.connections.count } }

    /// Requests being handled right now.
    public var activeRequests: Int { state.withLock { $0.busy.count } }

    /// Stops accepting and closes idle connections, lets the requests in progress finish (their
    /// connections close after the response), and stops once none is left or `deadline` passes.
    /// Returns how many requests were still running at the deadline.
    @discardableResult
    public func drain(deadline: Duration) async -> Int {
        let (listener, task, idle) = state.withLock { state in
            state.draining = true
            defer {
                state.listener = nil
                state.acceptTask = nil
            }
            return (state.listener, state.acceptTask, state.connections.filter { !state.busy.contains($0.key) }.map(\.value))
        }
        task?.cancel()
        listener?.close()
        for connection in idle { connection.close() }
        let end = ContinuousClock.now + deadline
        while activeRequests > 0 && ContinuousClock.now < end && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let left = activeRequests
        stop()
        return left
    }

    /// Called by a connection around each request; false when the server is draining and the
    /// connection should close instead of waiting for another request.
    func requestStarted(_ socket: Socket) {
        _ = state.withLock { $0.busy.insert(ObjectIdentifier(socket)) }
    }

    func requestFinished(_ socket: Socket) -> Bool {
        state.withLock { state in
            state.busy.remove(ObjectIdentifier(socket))
            return !state.draining
        }
    }

    var isDraining: Bool { state.withLock { $0.draining } }

    /// Binds and starts accepting; returns the bound port. Throws if the address cannot be bound.
    @discardableResult
    public func start() throws -> Int {
        let (fd, port) = try SocketCalls.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        let listener = Socket(adopting: fd)
        let task = Task(executorPreference: EventLoop.all[0]) { [self] in await acceptLoop(listener) }
        state.withLock {
            $0.listener = listener
            $0.acceptTask = task
            $0.port = port
        }
        return port
    }

    /// Stops accepting and closes every connection.
    public func stop() {
        let (listener, task, connections) = state.withLock { state in
            defer {
                state.listener = nil
                state.acceptTask = nil
                state.connections = [:]
            }
            return (state.listener, state.acceptTask, Array(state.connections.values))
        }
        task?.cancel()
        listener?.close()
        for connection in connections { connection.close() }
    }

    private func acceptLoop(_ listener: Socket) async {
        while !Task.isCancelled {
            do {
                switch try SocketCalls.accept(listener.fd) {
                case .done(let fd):
                    SocketCalls.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY)
                    let socket = Socket(adopting: fd)
                    guard register(socket) else {
                        socket.close()
                        continue
                    }
                    // Served on one loop's thread, in turn: see `EventLoop`.
                    let loop = EventLoop.next()
                    let canceller = TaskCanceller()
                    let task = Task(executorPreference: loop) { [self] in
                        let connection = HTTPServerConnection(
                            socket: socket, configuration: configuration, handler: handler, renderError: renderError, server: self,
                            onHangUp: canceller)
                        await EventLoop.$current.withValue(loop) { await connection.run() }
                        socket.close()
                        unregister(socket)
                    }
                    canceller.attach(task)
                case .wouldBlock:
                    try await listener.wait(for: .read, until: nil)
                }
            } catch {
                if listener.isClosed || Task.isCancelled { return }
                // EMFILE and friends: back off briefly rather than spin.
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func register(_ socket: Socket) -> Bool {
        state.withLock { state in
            guard state.connections.count < configuration.maxConnections else { return false }
            state.connections[ObjectIdentifier(socket)] = socket
            return true
        }
    }

    private func unregister(_ socket: Socket) {
        state.withLock { state in
            state.connections.removeValue(forKey: ObjectIdentifier(socket))
            state.busy.remove(ObjectIdentifier(socket))
        }
    }
}
