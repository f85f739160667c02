import Dispatch
import Synchronization

/// Enforces socket wait deadlines with one repeating timer, so a wait costs a dictionary update
/// rather than a timer.
///
/// Each socket is looked at only once its earliest deadline is due: with thousands of streams
/// waiting on minute-long idle deadlines, visiting every socket on every tick cost 5% of the CPU.
final class DeadlineSweeper: Sendable {
    static let shared = DeadlineSweeper()

    private struct Entry {
        let socket: Socket
        /// No wait of this socket expires before this instant.
        var due: ContinuousClock.Instant
    }

    private let watched = Mutex<[ObjectIdentifier: Entry]>([:])
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
            if let entry = watched[id], entry.due <= deadline { return }  // it is looked at by then anyway
            watched[id] = Entry(socket: socket, due: deadline)
        }
    }

    /// Called when `socket` closes: its waits are over.
    func forget(_ socket: Socket) {
        _ = watched.withLock { $0.removeValue(forKey: ObjectIdentifier(socket)) }
    }

    private func sweep() {
        let now = ContinuousClock.now
        let due = watched.withLock { watched in watched.values.filter { $0.due <= now }.map(\.socket) }
        guard !due.isEmpty else { return }
        for socket in due { socket.expireWaits(now: now) }
        watched.withLock { watched in
            for socket in due {
                // Asked under this lock: a wait that started since the expiry is either seen here
                // or watches after this update.
                if let next = socket.earliestDeadline {
                    watched[ObjectIdentifier(socket)]?.due = next
                } else {
                    watched.removeValue(forKey: ObjectIdentifier(socket))
                }
            }
        }
    }
}
