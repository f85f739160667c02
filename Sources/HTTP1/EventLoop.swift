import CEpoll
@preconcurrency import Glibc
import Synchronization

/// A thread that waits in `epoll_wait` for its sockets and also runs the tasks that serve them:
/// it is their `TaskExecutor`, so a task woken by a socket event continues on the thread that saw
/// the event, with no hand-off to another thread.
///
/// Sockets are registered once, edge-triggered, for both directions. Before these loops,
/// DispatchSources cost a hop through dispatch's manager thread and a serial queue per event, an
/// `epoll_ctl` for every suspend and resume, and a further hop into the cooperative pool: in the
/// request profile over half the CPU went to those context switches. Default actors the task
/// calls (placement, node state) run here too, under the task's executor preference; work
/// finished on other threads (timers, URLSession callbacks) comes back through `enqueue`.
final class EventLoop: TaskExecutor, Sendable {
    /// The loops, one thread each: `TENSORWALL_IO_THREADS` if set, else one per two cores, at
    /// least two (so a slow handler on one never stalls every connection) and at most eight.
    static let all: [EventLoop] = {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let configured = getenv("TENSORWALL_IO_THREADS").flatMap { Int(String(cString: $0)) }
        let count = max(1, min(64, configured ?? min(8, max(2, cores / 2))))
        return (0..<count).map { EventLoop(index: $0) }
    }()
    private static let nextIndex = Atomic<Int>(0)

    /// The loop a new connection is served on, in turn.
    static func next() -> EventLoop {
        all[nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % all.count]
    }

    /// The loop the current task's connection is served on.
    @TaskLocal static var current: EventLoop?

    /// Where a socket that the current task waits on is registered: the task's own loop, so that
    /// it continues on the thread that sees the event.
    static var forCurrentTask: EventLoop { current ?? all[0] }

    /// Whether the caller runs on one of the loop threads (tests use it to see where a handler ran).
    static var isLoopThread: Bool { all.contains { $0.isCurrentThread } }

    /// What an event says about a socket.
    struct Readiness: OptionSet, Sendable {
        let rawValue: UInt8
        static let readable = Readiness(rawValue: 1)
        static let writable = Readiness(rawValue: 2)
        /// The peer closed its side or the connection failed: no further edge will come.
        static let hungUp = Readiness(rawValue: 4)
    }

    private struct Registration: Sendable {
        weak var socket: Socket?
    }

    private struct Jobs: ~Copyable {
        var queue: [UnownedJob] = []
        /// The loop is (about to be) blocked in `epoll_wait`; an enqueue must wake it.
        var sleeping = false
    }

    private let epollDescriptor: Int32
    /// Written to wake the loop when a job arrives from another thread.
    private let wakeDescriptor: Int32
    private static let wakeToken: UInt64 = 0
    /// Events carry a token, never a pointer: a token is not reused, so an event that arrives for a
    /// socket already closed (its descriptor perhaps reused) finds nothing.
    private let registrations = Mutex<[UInt64: Registration]>([:])
    private let nextToken = Atomic<UInt64>(1)
    private let jobs = Mutex(Jobs())
    /// The loop thread's `pthread_self()`, set when it starts.
    private let thread = Atomic<UInt>(0)

    let index: Int

    private init(index: Int) {
        self.index = index
        epollDescriptor = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollDescriptor >= 0, "epoll_create1 failed: errno \(errno)")
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(wakeDescriptor >= 0, "eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        precondition(epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, wakeDescriptor, &event) == 0, "epoll_ctl failed: errno \(errno)")
        var thread = pthread_t()
        let loop = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let loop = Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue()
                tensorwall_name_thread("tensorwall-io\(loop.index)")
                loop.run()
                return nil
            }, loop)
        precondition(created == 0, "cannot start the event loop thread: \(created)")
        pthread_detach(thread)
    }

    /// Starts watching `fd` for `socket`; returns the token that `deregister` needs, or the
    /// kernel's refusal (say, `fs.epoll.max_user_watches` reached), which fails the wait.
    func register(_ socket: Socket, fd: Int32) -> Result<UInt64, SocketError> {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        registrations.withLock { $0[token] = Registration(socket: socket) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = token
        guard epoll_ctl(epollDescriptor, EPOLL_CTL_ADD, fd, &event) == 0 else {
            let error = SocketError.last("epoll_ctl")
            _ = registrations.withLock { $0.removeValue(forKey: token) }
            return .failure(error)
        }
        return .success(token)
    }

    /// Stops watching; must come before the descriptor is closed.
    func deregister(fd: Int32, token: UInt64) {
        _ = epoll_ctl(epollDescriptor, EPOLL_CTL_DEL, fd, nil)
        _ = registrations.withLock { $0.removeValue(forKey: token) }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let wake = jobs.withLock { jobs -> Bool in
            jobs.queue.append(job)
            defer { jobs.sleeping = false }
            return jobs.sleeping
        }
        if wake { _ = eventfd_write(wakeDescriptor, 1) }
    }

    /// Rounds of jobs run between two polls of the sockets: enough for a request's chain of hops,
    /// few enough that a chain of jobs that keeps enqueuing more cannot starve the sockets.
    static let jobRoundsPerPoll = 16

    private var isCurrentThread: Bool { thread.load(ordering: .acquiring) == pthread_self() }

    private func run() {
        thread.store(pthread_self(), ordering: .releasing)
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        var ready: [(Socket, Readiness)] = []
        ready.reserveCapacity(capacity)
        var running: [UnownedJob] = []
        let executor = asUnownedTaskExecutor()
        while true {
            let hasJobs = jobs.withLock { jobs -> Bool in
                jobs.sleeping = jobs.queue.isEmpty
                return !jobs.queue.isEmpty
            }
            let count = epoll_wait(epollDescriptor, events, Int32(capacity), hasJobs ? 0 : -1)
            if count < 0 && errno != EINTR { fatalError("epoll_wait failed: errno \(errno)") }
            // Awake: the jobs the events below enqueue on this thread must not write the eventfd
            // to wake it (two needless syscalls a request, and a spurious round of the loop).
            if !hasJobs { jobs.withLock { $0.sleeping = false } }
            registrations.withLock { registrations in
                for index in 0..<max(0, Int(count)) {
                    let event = events[index]
                    guard event.data.u64 != Self.wakeToken else { continue }
                    guard let socket = registrations[event.data.u64]?.socket else { continue }
                    var readiness: Readiness = []
                    let flags = event.events
                    let failed = flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
                    if failed || flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { readiness.insert(.readable) }
                    if failed || flags & EPOLLOUT.rawValue != 0 { readiness.insert(.writable) }
                    if failed || flags & EPOLLRDHUP.rawValue != 0 { readiness.insert(.hungUp) }
                    ready.append((socket, readiness))
                }
            }
            for index in 0..<max(0, Int(count)) where events[index].data.u64 == Self.wakeToken {
                var value: eventfd_t = 0
                _ = eventfd_read(wakeDescriptor, &value)
            }
            // Waking a socket's waiter enqueues its task here; it runs below, on this thread.
            for (socket, readiness) in ready { socket.ready(readiness) }
            ready.removeAll(keepingCapacity: true)
            // The jobs these jobs enqueue (an actor hop there and back, a continuation resumed) run
            // in the same turn, up to `jobRoundsPerPoll` rounds: polling between every round cost
            // an `epoll_wait` per hop, a dozen syscalls a proxied request.
            for _ in 0..<Self.jobRoundsPerPoll {
                jobs.withLock { jobs in
                    jobs.sleeping = false
                    swap(&running, &jobs.queue)
                }
                if running.isEmpty { break }
                for job in running { job.runSynchronously(on: executor) }
                running.removeAll(keepingCapacity: true)
            }
        }
    }
}

/// What code outside this module may know of the event loops.
public enum EventLoops {
    /// The executor of the first loop, where sockets opened outside a served connection are
    /// registered: a load generator whose tasks run there continues on the thread that sees its
    /// sockets' events (Benchmarks/ProxyBenchmark).
    public static var firstLoopExecutor: any TaskExecutor { EventLoop.all[0] }

    /// Bytes beyond which decoding leaves the loop, as request bodies over
    /// `HTTPServerConfiguration.loopBodyLimit` do.
    public static let largeDecodeBytes = 256 * 1024

    /// Runs `work` on the cooperative pool when it decodes more than `largeDecodeBytes` (a large
    /// answer from a node, say thousands of embedding vectors), so it cannot stall the other
    /// connections of the caller's loop; smaller work runs where the caller is.
    public static func decoding<T, Failure: Error>(byteCount: Int, _ work: () throws(Failure) -> T) async throws(Failure) -> T {
        guard byteCount > largeDecodeBytes else { return try work() }
        return try await withTaskExecutorPreference(globalConcurrentExecutor) { () throws(Failure) -> T in try work() }
    }
}
