import Synchronization

/// Cancels a connection's task from the socket's hang-up callback. The callback may fire before
/// the task's handle is attached (the task runs on another loop as soon as it is made), so a
/// cancel that comes first is kept and carried out on attach.
final class TaskCanceller: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func attach(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelNow { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}
