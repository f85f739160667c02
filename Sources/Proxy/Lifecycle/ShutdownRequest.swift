import Synchronization

/// How the process was asked to stop: the first SIGINT or SIGTERM drains, a second stops at once.
final class ShutdownRequest: Sendable {
    enum Level: Int, Sendable, Comparable {
        case drain = 1
        case immediately = 2

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    private struct State {
        var level: Level?
        var waiters: [(id: UInt64, level: Level, continuation: CheckedContinuation<Void, Never>)] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Raises the request to `level` (never lowers it) and wakes whoever waits for it.
    func request(_ level: Level) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.level = max(state.level ?? level, level)
            let current = state.level!
            let due = state.waiters.filter { $0.level <= current }.map(\.continuation)
            state.waiters.removeAll { $0.level <= current }
            return due
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns once a stop at `level` (or stronger) was asked for, or when the waiting task is cancelled.
    func wait(for level: Level) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let proceed = state.withLock { state -> Bool in
                    if let current = state.level, current >= level { return true }
                    if Task.isCancelled { return true }
                    state.waiters.append((id, level, continuation))
                    return false
                }
                if proceed { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
    }
}
