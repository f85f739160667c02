@preconcurrency import Glibc
import Synchronization

/// A non-blocking socket whose readiness is awaited rather than blocked on.
///
/// The socket is registered with its task's `EventLoop` the first time something waits on it,
/// edge-triggered for both directions, and stays registered: an idle connection costs a
/// descriptor and one small object, never a thread, and a wait costs no system call. An edge
/// that arrives while nobody waits is remembered, so the next wait returns at once and its
/// caller retries. Deadlines are enforced by one shared sweeper instead of a timer per wait.
public final class Socket: Sendable {
    public let fd: Int32
    private let state = Mutex(State())
    /// Set when a read returned less than it asked for; see `read(into:until:)`.
    private let readDrained = Atomic<Bool>(false)

    enum Direction { case read, write }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
        let deadline: ContinuousClock.Instant?
    }

    private struct Watch {
        var waiter: Waiter?
        /// An edge arrived while nobody waited: the next wait must not sleep.
        var ready = false

        /// The waiter to wake for an edge, or, with nobody waiting, a note that the edge came.
        mutating func takeWaiterOrRemember() -> Waiter? {
            guard let waiter else {
                ready = true
                return nil
            }
            self.waiter = nil
            return waiter
        }
    }

    private struct State {
        var read = Watch()
        var write = Watch()
        /// The loop this socket is registered with, and its token there.
        var registration: (loop: EventLoop, token: UInt64)?
        var closed = false
        /// An event reported the peer's close (or an error): end of stream is pending.
        var hungUp = false
        /// Called (once) when readiness shows the peer hung up; see `watchForPeerClose`.
        var peerCloseCallback: (@Sendable () -> Void)?

        subscript(direction: Direction) -> Watch {
            get { direction == .read ? read : write }
            set { if direction == .read { read = newValue } else { write = newValue } }
        }
    }

    private static let nextWaiterID = Atomic<UInt64>(1)

    /// Takes ownership of `fd`, which must already be non-blocking.
    public init(adopting fd: Int32) {
        self.fd = fd
    }

    deinit {
        close()
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits until the descriptor is readable (or writable), the deadline passes, the socket closes or the task is cancelled.
    /// May return early (a remembered edge); callers retry their system call and wait again.
    func wait(for direction: Direction, until deadline: ContinuousClock.Instant?) async throws {
        let id = Self.nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Start { case waiting, readyNow, failed(any Error) }
                let start = state.withLock { state -> Start in
                    if state.closed { return .failed(SocketError.closed) }
                    if Task.isCancelled { return .failed(CancellationError()) }
                    if let deadline, deadline <= .now { return .failed(SocketError.timedOut) }
                    precondition(state[direction].waiter == nil, "two waiters for one socket direction")
                    if state[direction].ready {
                        state[direction].ready = false
                        return .readyNow
                    }
                    if let error = registerIfNeeded(&state) { return .failed(error) }
                    state[direction].waiter = Waiter(id: id, continuation: continuation, deadline: deadline)
                    return .waiting
                }
                switch start {
                case .failed(let error): continuation.resume(throwing: error)
                case .readyNow: continuation.resume()
                case .waiting: if let deadline { DeadlineSweeper.shared.watch(self, until: deadline) }
                }
            }
        } onCancel: {
            finishWait(direction, id: id, with: CancellationError())
        }
    }

    /// Registers with the current task's loop, moving from another loop if a pooled connection
    /// changed hands: its events then wake the task on the thread that runs it. Returns the
    /// kernel's refusal, if any.
    private func registerIfNeeded(_ state: inout State) -> SocketError? {
        let loop = EventLoop.forCurrentTask
        if let registration = state.registration {
            if registration.loop === loop { return nil }
            registration.loop.deregister(fd: fd, token: registration.token)
            state.registration = nil
        }
        // An edge may be delivered on the loop thread before this returns; it waits for this
        // lock and then finds the waiter that the caller stores in the same critical section.
        // Adding reports what is already readable or writable, so moving loses no edge.
        switch loop.register(self, fd: fd) {
        case .success(let token):
            state.registration = (loop, token)
            return nil
        case .failure(let error):
            return error
        }
    }

    /// Called by the event loop: wakes the waiter of each ready direction, or remembers the edge.
    /// Runs for every event, so it allocates nothing.
    func ready(_ readiness: EventLoop.Readiness) {
        var reader: Waiter?
        var writer: Waiter?
        let callback = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.closed else { return nil }
            if readiness.contains(.hungUp) { state.hungUp = true }
            if readiness.contains(.readable) { reader = state.read.takeWaiterOrRemember() }
            if readiness.contains(.writable) { writer = state.write.takeWaiterOrRemember() }
            // Readable while a request is being handled: either the peer hung up, or it pipelined
            // the next request (then keep watching; the bytes wait for the next read). Peeked under
            // the lock so the descriptor cannot be closed and reused meanwhile.
            guard readiness.contains(.readable), state.peerCloseCallback != nil, SocketCalls.peerHasClosed(fd) else { return nil }
            defer { state.peerCloseCallback = nil }
            return state.peerCloseCallback
        }
        reader?.continuation.resume()
        writer?.continuation.resume()
        callback?()
    }

    /// Calls `onPeerClose` if the peer hangs up before `stopWatchingForPeerClose()`. Callback based,
    /// not a waiting task: cancelling a task per request to stop a watch costs memory the Swift
    /// runtime does not give back (measured: BENCHMARKS.md).
    func watchForPeerClose(_ onPeerClose: @escaping @Sendable () -> Void) {
        let hungUp = state.withLock { state -> Bool in
            // Unregistrable (the kernel refused): the request then runs without the watch.
            guard !state.closed, state.read.waiter == nil, registerIfNeeded(&state) == nil else { return false }
            // An edge that came while nobody watched may have been the hang-up.
            if state.read.ready, SocketCalls.peerHasClosed(fd) { return true }
            state.peerCloseCallback = onPeerClose
            return false
        }
        if hungUp { onPeerClose() }
    }

    func stopWatchingForPeerClose() {
        state.withLock { $0.peerCloseCallback = nil }
    }

    private func finishWait(_ direction: Direction, id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state[direction].waiter, waiter.id == id else { return nil }
            state[direction].waiter = nil
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Fails every wait whose deadline has passed.
    func expireWaits(now: ContinuousClock.Instant) {
        var expired: [Waiter] = []
        state.withLock { state in
            for direction in [Direction.read, .write] {
                guard let waiter = state[direction].waiter, let deadline = waiter.deadline, deadline <= now else { continue }
                expired.append(waiter)
                state[direction].waiter = nil
            }
        }
        for waiter in expired { waiter.continuation.resume(throwing: SocketError.timedOut) }
    }

    /// The earliest deadline of a wait in progress, if any has one.
    var earliestDeadline: ContinuousClock.Instant? {
        state.withLock { state in
            [state.read.waiter?.deadline, state.write.waiter?.deadline].compactMap { $0 }.min()
        }
    }

    /// Closes the socket once; pending waits fail with `SocketError.closed`.
    public func close() {
        let closing = state.withLock { state -> (waiters: [Waiter], registration: (loop: EventLoop, token: UInt64)?)? in
            guard !state.closed else { return nil }
            state.closed = true
            state.peerCloseCallback = nil
            let waiters = [state.read.waiter, state.write.waiter].compactMap { $0 }
            state.read.waiter = nil
            state.write.waiter = nil
            return (waiters, state.registration)
        }
        guard let closing else { return }
        DeadlineSweeper.shared.forget(self)
        if let (loop, token) = closing.registration { loop.deregister(fd: fd, token: token) }
        Glibc.close(fd)
        for waiter in closing.waiters { waiter.continuation.resume(throwing: SocketError.closed) }
    }
}

extension Socket {
    /// Reads what is available into `buffer`, waiting for data if none is; returns 0 at end of stream.
    /// - Parameter space: the least free room offered to the read (the buffer grows to it): more
    ///   for a large upload, read in fewer and larger pieces.
    func read(into buffer: ReadBuffer, until deadline: ContinuousClock.Instant?, space: Int = 4096) async throws -> Int {
        // The last read took less than it was offered, so it emptied the kernel's queue: the next
        // bytes bring a new edge. Waiting for it saves a `recv` that would only say EAGAIN.
        if readDrained.exchange(false, ordering: .relaxed) { try await wait(for: .read, until: deadline) }
        while true {
            if isClosed { throw SocketError.closed }
            var offered = 0
            let result = try buffer.fill(minimum: space) { room in
                offered = room.count
                return try SocketCalls.read(fd, into: room)
            }
            switch result {
            case .bytes(let count):
                // Unless the peer's close was seen: its end of stream brings no further edge.
                if count < offered, !state.withLock({ $0.hungUp }) { readDrained.store(true, ordering: .relaxed) }
                return count
            case .endOfStream: return 0
            case .wouldBlock: try await wait(for: .read, until: deadline)
            }
        }
    }

    /// Writes every byte, waiting for the kernel to drain when its buffer is full.
    func write(_ bytes: [UInt8], until deadline: ContinuousClock.Instant?) async throws {
        var offset = 0
        while offset < bytes.count {
            if isClosed { throw SocketError.closed }
            let written = try bytes.withUnsafeBytes { raw in
                try SocketCalls.write(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            offset += written
            if offset < bytes.count, written == 0 {
                try await wait(for: .write, until: deadline)
            }
        }
    }

    /// Whether an idle pooled connection is still usable: nothing pending and not closed by the peer.
    var isReusable: Bool {
        !isClosed && !SocketCalls.peerHasClosedOrSentData(fd)
    }
}
