import Synchronization

/// FIFO wait queues, one per model, for requests that no node can start right now. Only the head
/// of a queue looks for a slot; it is woken whenever capacity may have changed, and an epoch
/// counter makes sure a change that happened while it was looking is not missed.
final class WaitQueues: Sendable {
    enum Wake: Sendable { case turn, timedOut, cancelled }

    private struct Queue {
        var tickets: [UInt64] = []
        var parked: [UInt64: CheckedContinuation<Wake, Never>] = [:]
    }

    private let state = Mutex<[ModelName: Queue]>([:])
    private let nextTicket = Atomic<UInt64>(1)
    private let epochCounter = Atomic<UInt64>(0)

    /// Advances whenever capacity may have changed anywhere.
    var epoch: UInt64 { epochCounter.load(ordering: .acquiring) }

    func isEmpty(_ model: ModelName) -> Bool {
        state.withLock { $0[model]?.tickets.isEmpty ?? true }
    }

    func count(_ model: ModelName) -> Int {
        state.withLock { $0[model]?.tickets.count ?? 0 }
    }

    /// Every non-empty queue's length.
    func counts() -> [ModelName: Int] {
        state.withLock { queues in queues.compactMapValues { $0.tickets.isEmpty ? nil : $0.tickets.count } }
    }

    /// Joins the back of the queue; nil when it already holds `maxLength` requests.
    func enqueue(_ model: ModelName, maxLength: Int) -> UInt64? {
        let ticket = nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        return state.withLock { queues -> UInt64? in
            guard (queues[model]?.tickets.count ?? 0) < maxLength else { return nil }
            queues[model, default: Queue()].tickets.append(ticket)
            return ticket
        }
    }

    /// Leaves the queue (served, failed or gone) and lets the next request look.
    func leave(_ model: ModelName, _ ticket: UInt64) {
        let wake = state.withLock { queues -> CheckedContinuation<Wake, Never>? in
            guard var queue = queues[model] else { return nil }
            queue.tickets.removeAll { $0 == ticket }
            let parked = queue.parked.removeValue(forKey: ticket)
            let nextHead = queue.tickets.first.flatMap { queue.parked.removeValue(forKey: $0) }
            queues[model] = queue.tickets.isEmpty ? nil : queue
            parked?.resume(returning: .cancelled)
            return nextHead
        }
        wake?.resume(returning: .turn)
    }

    /// Capacity may have changed: every queue's head looks again.
    func capacityChanged() {
        epochCounter.wrappingAdd(1, ordering: .releasing)
        let heads = state.withLock { queues -> [CheckedContinuation<Wake, Never>] in
            var heads: [CheckedContinuation<Wake, Never>] = []
            for (model, var queue) in queues {
                if let head = queue.tickets.first, let parked = queue.parked.removeValue(forKey: head) {
                    heads.append(parked)
                    queues[model] = queue
                }
            }
            return heads
        }
        for head in heads { head.resume(returning: .turn) }
    }

    /// Waits until `ticket` is at the head and capacity changed since `seenEpoch` (at once when
    /// `seenEpoch` is nil), or the deadline passes.
    func waitForTurn(_ model: ModelName, _ ticket: UInt64, seenEpoch: UInt64?, deadline: ContinuousClock.Instant) async -> Wake {
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            if !Task.isCancelled { self.wake(model, ticket, .timedOut) }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                let immediate = state.withLock { queues -> Wake? in
                    guard var queue = queues[model], queue.tickets.contains(ticket) else { return .cancelled }
                    if Task.isCancelled { return .cancelled }
                    if ContinuousClock.now >= deadline { return .timedOut }
                    if queue.tickets.first == ticket && (seenEpoch == nil || epoch != seenEpoch) { return .turn }
                    queue.parked[ticket] = continuation
                    queues[model] = queue
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            wake(model, ticket, .cancelled)
        }
    }

    private func wake(_ model: ModelName, _ ticket: UInt64, _ reason: Wake) {
        let parked = state.withLock { queues -> CheckedContinuation<Wake, Never>? in
            queues[model]?.parked.removeValue(forKey: ticket)
        }
        parked?.resume(returning: reason)
    }
}
