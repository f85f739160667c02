import CEpoll
@preconcurrency import Glibc
import Synchronization

/// One thread blocked in `epoll_wait` for every socket, waking exactly the task that waits.
///
/// Sockets are registered once, edge-triggered, for both directions; an event resumes the waiting
/// continuation straight from this thread. DispatchSources cost a hop through dispatch's manager
/// thread and a serial queue per event, plus an `epoll_ctl` for every suspend and resume: in the
/// request profile over half the CPU went to those context switches.
final class EventLoop: Sendable {
    static let shared = EventLoop()

    /// What an event says about a socket.
    struct Readiness: OptionSet, Sendable {
        let rawValue: UInt8
        static let readable = Readiness(rawValue: 1)
        static let writable = Readiness(rawValue: 2)
    }

    private struct Registration: Sendable {
        weak var socket: Socket?
    }

    private let epollDescriptor: Int32
    /// Events carry a token, never a pointer: a token is not reused, so an event that arrives for a
    /// socket already closed (its descriptor perhaps reused) finds nothing.
    private let registrations = Mutex<[UInt64: Registration]>([:])
    private let nextToken = Atomic<UInt64>(1)

    private init() {
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        var thread = pthread_t()
        let loop = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, loop)
        precondition(created == 0, "cannot start the event loop thread: \(created)")
        pthread_detach(thread)
    }

    /// Starts watching `fd` for `socket`; returns the token that `deregister` needs.
    func register(_ socket: Socket, fd: Int32) -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        registrations.withLock { $0[token] = Registration(socket: socket) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = token
        let added = epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, fd, &event)
        // Only a closed or non-socket descriptor fails here, and then every read or write fails too.
        precondition(added == 0 || errno == EBADF, "epoll_ctl ADD failed: errno \(errno)")
        return token
    }

    /// Stops watching; must come before the descriptor is closed.
    func deregister(fd: Int32, token: UInt64) {
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fd, nil)
        _ = registrations.withLock { $0.removeValue(forKey: token) }
    }

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        var ready: [(Socket, Readiness)] = []
        ready.reserveCapacity(capacity)
        while true {
            let count = epoll_wait(epollDescriptor, events, Int32(capacity), -1)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            registrations.withLock { registrations in
                for index in 0..<Int(count) {
                    let event = events[index]
                    guard let socket = registrations[event.data.u64]?.socket else { continue }
                    var readiness: Readiness = []
                    let flags = event.events
                    let failed = flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
                    if failed || flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readiness.insert(.readable) }
                    if failed || flags & EPOLLOUT.rawValue != 0 { readiness.insert(.writable) }
                    ready.append((socket, readiness))
                }
            }
            for (socket, readiness) in ready { socket.ready(readiness) }
            ready.removeAll(keepingCapacity: true)
        }
    }
}
