import Dispatch
import Synchronization

/// Enforces socket wait deadlines with one repeating timer, so a wait costs a dictionary update
/// rather than a timer.
///
/// Each socket is looked at only once its earliest deadline is due, and a tick visits the sockets
/// at all only once the earliest of every deadline is due: with 4,000 sockets streaming on
/// minute-long idle deadlines, a tick that scanned them all took 4.2 % of TensorWall's CPU (`perf`,
/// `Benchmarks/streams.sh 2000`), on a third thread beside the event loops.
final class DeadlineSweeper: Sendable {
    static let shared = DeadlineSweeper()

    private struct Watched {
        /// No wait of a socket expires before its instant here. Kept apart from `sockets` so the
        /// check every wait makes reads an instant, not a socket reference it must retain.
        var due: [ObjectIdentifier: ContinuousClock.Instant] = [:]
        var sockets: [ObjectIdentifier: Socket] = [:]
        /// No socket is due before this instant (nil: none is watched). A socket forgotten since
        /// leaves it early, which costs one scan, never a missed deadline.
        var earliestDue: ContinuousClock.Instant?

        mutating func lowerEarliest(to instant: ContinuousClock.Instant) {
            if let earliestDue, earliestDue <= instant { return }
            earliestDue = instant
        }
    }

    private let watched = Mutex(Watched())
    /// Held only to keep the timer alive; never touched after init.
    private let timer: Mutex<any DispatchSourceTimer>
    static let period: DispatchTimeInterval = .milliseconds(50)

    private init() {
        timer = Mutex(DispatchSource.makeTimerSource(queue: DispatchQueue(label: "tensorwall.deadlines")))
        timer.withLock { source in
            source.schedule(deadline: .now() + Self.period, repeating: Self.period, leeway: .milliseconds(10))
            source.setEventHandler { [weak self] in self?.sweep() }
            source.activate()
        }
    }

    /// Called after `socket` started a wait that ends at `deadline`.
    func watch(_ socket: Socket, until deadline: ContinuousClock.Instant) {
        watched.withLock { watched in
            let id = ObjectIdentifier(socket)
            if let due = watched.due[id], due <= deadline { return }  // it is looked at by then anyway
            if watched.due.updateValue(deadline, forKey: id) == nil { watched.sockets[id] = socket }
            watched.lowerEarliest(to: deadline)
        }
    }

    /// Called when `socket` closes: its waits are over.
    func forget(_ socket: Socket) {
        watched.withLock { watched in
            let id = ObjectIdentifier(socket)
            watched.due.removeValue(forKey: id)
            watched.sockets.removeValue(forKey: id)
        }
    }

    private func sweep() {
        let now = ContinuousClock.now
        let due = watched.withLock { watched -> [Socket] in
            guard let earliest = watched.earliestDue, earliest <= now else { return [] }
            var due: [Socket] = []
            var laterEarliest: ContinuousClock.Instant?
            for (id, instant) in watched.due {
                if instant <= now {
                    if let socket = watched.sockets[id] { due.append(socket) }
                } else if laterEarliest.map({ instant < $0 }) ?? true {
                    laterEarliest = instant
                }
            }
            watched.earliestDue = laterEarliest
            return due
        }
        guard !due.isEmpty else { return }
        for socket in due { socket.expireWaits(now: now) }
        watched.withLock { watched in
            for socket in due {
                // Asked under this lock: a wait that started since the expiry is either seen here
                // or watches after this update.
                let id = ObjectIdentifier(socket)
                if let next = socket.earliestDeadline, watched.due[id] != nil {
                    watched.due[id] = next
                    watched.lowerEarliest(to: next)
                } else {
                    watched.due.removeValue(forKey: id)
                    watched.sockets.removeValue(forKey: id)
                }
            }
        }
    }
}
