import Dispatch
import Synchronization

/// Enforces socket wait deadlines with one repeating timer, so a wait costs a set insert rather than a timer.
final class DeadlineSweeper: Sendable {
    static let shared = DeadlineSweeper()

    private let watched = Mutex<[ObjectIdentifier: Socket]>([:])
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

    func watch(_ socket: Socket) {
        watched.withLock { $0[ObjectIdentifier(socket)] = socket }
    }

    private func sweep() {
        let sockets = watched.withLock { Array($0.values) }
        guard !sockets.isEmpty else { return }
        let now = ContinuousClock.now
        var finished: [ObjectIdentifier] = []
        for socket in sockets where !socket.expireWaits(now: now) {
            finished.append(ObjectIdentifier(socket))
        }
        guard !finished.isEmpty else { return }
        watched.withLock { watched in
            for id in finished where watched[id]?.hasDeadlineWait == false {
                // Re-checked under the lock: a wait that started since the sweep keeps its entry.
                watched.removeValue(forKey: id)
            }
        }
    }
}
