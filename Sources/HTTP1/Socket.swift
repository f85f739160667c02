import Dispatch
@preconcurrency import Glibc
import Synchronization

/// A non-blocking socket whose readiness is awaited rather than blocked on.
///
/// Each direction has one DispatchSource that stays suspended while nobody waits, so an idle
/// connection costs a descriptor and two small objects, never a thread. Deadlines are enforced by
/// one shared sweeper instead of a timer per wait.
public final class Socket: Sendable {
    public let fd: Int32
    private let queue: DispatchQueue
    private let state = Mutex(State())
    private let descriptor: DescriptorOwner

    enum Direction { case read, write }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
        let deadline: ContinuousClock.Instant?
    }

    private struct Watch {
        var source: (any DispatchSourceProtocol)?
        var activated = false
        var suspended = true
        var waiter: Waiter?
        /// Read side only: called (once) when readiness shows the peer hung up; see `watchForPeerClose`.
        var peerCloseCallback: (@Sendable () -> Void)?
    }

    private struct State {
        var read = Watch()
        var write = Watch()
        var closed = false

        subscript(direction: Direction) -> Watch {
            get { direction == .read ? read : write }
            set { if direction == .read { read = newValue } else { write = newValue } }
        }
    }

    private static let nextWaiterID = Atomic<UInt64>(1)
    private static let queues: [DispatchQueue] = (0..<4).map { DispatchQueue(label: "tensorwall.socket.\($0)") }
    private static let nextQueue = Atomic<Int>(0)

    /// Takes ownership of `fd`, which must already be non-blocking.
    public init(adopting fd: Int32) {
        self.fd = fd
        self.descriptor = DescriptorOwner(fd: fd)
        let index = Self.nextQueue.wrappingAdd(1, ordering: .relaxed).oldValue
        self.queue = Self.queues[index % Self.queues.count]
    }

    deinit {
        close()
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits until the descriptor is readable (or writable), the deadline passes, the socket closes or the task is cancelled.
    func wait(for direction: Direction, until deadline: ContinuousClock.Instant?) async throws {
        let id = Self.nextWaiterID.wrappingAdd(1, ordering: .relaxed).oldValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let failure: (any Error)? = state.withLock { state in
                    if state.closed { return SocketError.closed }
                    if Task.isCancelled { return CancellationError() }
                    if let deadline, deadline <= .now { return SocketError.timedOut }
                    precondition(state[direction].waiter == nil, "two waiters for one socket direction")
                    state[direction].waiter = Waiter(id: id, continuation: continuation, deadline: deadline)
                    makeSourceIfNeeded(direction, &state)
                    if state[direction].suspended {
                        state[direction].suspended = false
                        if state[direction].activated {
                            state[direction].source!.resume()
                        } else {
                            state[direction].activated = true
                            state[direction].source!.activate()
                        }
                    }
                    return nil
                }
                if let failure {
                    continuation.resume(throwing: failure)
                } else if deadline != nil {
                    DeadlineSweeper.shared.watch(self)
                }
            }
        } onCancel: {
            finishWait(direction, id: id, with: CancellationError())
        }
    }

    private func makeSourceIfNeeded(_ direction: Direction, _ state: inout State) {
        guard state[direction].source == nil else { return }
        let source: any DispatchSourceProtocol =
            direction == .read
            ? DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            : DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak self] in self?.sourceFired(direction) }
        // The handler holds the owner strongly: the descriptor must be closed even if this
        // socket object is long gone by the time dispatch finishes cancelling.
        let descriptor = self.descriptor
        descriptor.sourceCreated()
        source.setCancelHandler { descriptor.sourceCancelled() }
        state[direction].source = source
    }

    private func sourceFired(_ direction: Direction) {
        let (waiter, callback) = state.withLock { state -> (Waiter?, (@Sendable () -> Void)?) in
            if !state[direction].suspended, !state.closed {
                state[direction].suspended = true
                state[direction].source?.suspend()
            }
            let waiter = state[direction].waiter
            state[direction].waiter = nil
            let callback = state[direction].peerCloseCallback
            state[direction].peerCloseCallback = nil
            return (waiter, callback)
        }
        waiter?.continuation.resume()
        // Readable while a request is being handled: either the peer hung up, or it pipelined the
        // next request (then stop watching; the bytes wait for the next read).
        if let callback, SocketCalls.peerHasClosed(fd) { callback() }
    }

    /// Calls `onPeerClose` if the peer hangs up before `stopWatchingForPeerClose()`. Callback based,
    /// not a waiting task: cancelling a task per request to stop a watch costs memory the Swift
    /// runtime does not give back (measured: BENCHMARKS.md).
    func watchForPeerClose(_ onPeerClose: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard !state.closed, state.read.waiter == nil else { return }
            state.read.peerCloseCallback = onPeerClose
            makeSourceIfNeeded(.read, &state)
            if state.read.suspended {
                state.read.suspended = false
                if state.read.activated {
                    state.read.source!.resume()
                } else {
                    state.read.activated = true
                    state.read.source!.activate()
                }
            }
        }
    }

    func stopWatchingForPeerClose() {
        state.withLock { state in
            guard state.read.peerCloseCallback != nil else { return }
            state.read.peerCloseCallback = nil
            if !state.read.suspended, !state.closed {
                state.read.suspended = true
                state.read.source?.suspend()
            }
        }
    }

    private func finishWait(_ direction: Direction, id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let waiter = state[direction].waiter, waiter.id == id else { return nil }
            state[direction].waiter = nil
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Fails every wait whose deadline has passed; returns whether any wait with a deadline remains.
    func expireWaits(now: ContinuousClock.Instant) -> Bool {
        var expired: [Waiter] = []
        let remaining = state.withLock { state -> Bool in
            var remaining = false
            for direction in [Direction.read, .write] {
                guard let waiter = state[direction].waiter, let deadline = waiter.deadline else { continue }
                if deadline <= now {
                    expired.append(waiter)
                    state[direction].waiter = nil
                } else {
                    remaining = true
                }
            }
            return remaining
        }
        for waiter in expired { waiter.continuation.resume(throwing: SocketError.timedOut) }
        return remaining
    }

    var hasDeadlineWait: Bool {
        state.withLock { $0.read.waiter?.deadline != nil || $0.write.waiter?.deadline != nil }
    }

    /// Closes the socket once; pending waits fail with `SocketError.closed`.
    public func close() {
        let waiters = state.withLock { state -> [Waiter] in
            guard !state.closed else { return [] }
            state.closed = true
            let waiters = [state.read.waiter, state.write.waiter].compactMap { $0 }
            state.read.waiter = nil
            state.write.waiter = nil
            for direction in [Direction.read, .write] {
                guard let source = state[direction].source else { continue }
                if !state[direction].activated {
                    source.activate()
                } else if state[direction].suspended {
                    source.resume()
                }
                state[direction].suspended = false
                source.cancel()
            }
            return waiters
        }
        descriptor.closeWhenUnwatched()
        for waiter in waiters { waiter.continuation.resume(throwing: SocketError.closed) }
    }
}

/// Closes a descriptor exactly once, and only after every DispatchSource watching it has been
/// cancelled (closing earlier could let a reused descriptor number be watched by a stale source).
final class DescriptorOwner: Sendable {
    private let fd: Int32
    private let state = Mutex((sources: 0, closeRequested: false, closed: false))

    init(fd: Int32) {
        self.fd = fd
    }

    func sourceCreated() {
        state.withLock { $0.sources += 1 }
    }

    func sourceCancelled() {
        let close = state.withLock { state -> Bool in
            state.sources -= 1
            return takeCloseTurn(&state)
        }
        if close { Glibc.close(fd) }
    }

    func closeWhenUnwatched() {
        let close = state.withLock { state -> Bool in
            state.closeRequested = true
            return takeCloseTurn(&state)
        }
        if close { Glibc.close(fd) }
    }

    private func takeCloseTurn(_ state: inout (sources: Int, closeRequested: Bool, closed: Bool)) -> Bool {
        guard state.sources == 0, state.closeRequested, !state.closed else { return false }
        state.closed = true
        return true
    }
}

extension Socket {
    /// Reads what is available into `buffer`, waiting for data if none is; returns 0 at end of stream.
    func read(into buffer: ReadBuffer, until deadline: ContinuousClock.Instant?) async throws -> Int {
        while true {
            if isClosed { throw SocketError.closed }
            let result = try buffer.fill { try SocketCalls.read(fd, into: $0) }
            switch result {
            case .bytes(let count): return count
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

    /// Returns when the peer closes its side (or the socket errors); returns false if data arrived instead.
    func waitForPeerClose() async throws -> Bool {
        try await wait(for: .read, until: nil)
        return SocketCalls.peerHasClosed(fd)
    }

    /// Whether an idle pooled connection is still usable: nothing pending and not closed by the peer.
    var isReusable: Bool {
        !isClosed && !SocketCalls.peerHasClosedOrSentData(fd)
    }
}
