import Synchronization

/// A response writer that keeps what a handler wrote: status, headers, body pieces, whether it
/// finished. Routing and translation run through it in tests without a socket; `hangUp()` makes
/// later writes fail as a client that went away does.
public final class InMemoryResponseWriter: HTTPResponseWriter {
    private struct State {
        var status = 0
        var headers = HTTPHeaders()
        var pieces: [[UInt8]] = []
        var headSent = false
        var finished = false
        var closeAfter = false
        var broken = false
    }

    private let state = Mutex(State())

    public init() {}

    public var headSent: Bool { state.withLock { $0.headSent } }
    public var status: Int { state.withLock { $0.status } }
    public var isBroken: Bool { state.withLock { $0.broken } }
    public var headers: HTTPHeaders { state.withLock { $0.headers } }
    /// Every piece written, in order (one for a whole response).
    public var pieces: [[UInt8]] { state.withLock { $0.pieces } }
    public var body: [UInt8] { pieces.flatMap { $0 } }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var isFinished: Bool { state.withLock { $0.finished } }
    public var closesConnection: Bool { state.withLock { $0.closeAfter } }

    /// From now on every write fails: the client is gone.
    public func hangUp() { state.withLock { $0.broken = true } }

    public func closeConnectionAfterResponse() { state.withLock { $0.closeAfter = true } }
    public func abortConnection() { state.withLock { $0.broken = true } }

    public func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) async throws {
        try begin(status: status, headers: headers)
        try state.withLock { state in
            guard !state.broken else { throw InMemoryWriteFailed() }
            state.pieces.append(body)
            state.finished = true
        }
    }

    public func start(status: Int, headers: HTTPHeaders) async throws {
        try begin(status: status, headers: headers)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try state.withLock { state in
            guard !state.broken else { throw InMemoryWriteFailed() }
            if !bytes.isEmpty { state.pieces.append(bytes) }
        }
    }

    public func finish() async throws {
        state.withLock { $0.finished = true }
    }

    private func begin(status: Int, headers: HTTPHeaders) throws {
        try state.withLock { state in
            guard !state.headSent else { throw HTTPHeadAlreadySent() }
            guard !state.broken else { throw InMemoryWriteFailed() }
            state.headSent = true
            state.status = status
            state.headers = headers
        }
    }

    /// A write to an in-memory writer whose client hung up.
    public struct InMemoryWriteFailed: Error {}
}
