import Synchronization

/// FIFO wait queues, one per model, for requests that no node can start right now. Only the head
/// of a queue looks for a slot; it is woken whenever capacity may have changed, and an epoch
/// counter makes sure a change that happened while it was looking is not missed.
///
/// A model's queue keeps a lane per context length asked (`options.num_ctx`, or none), and each
/// lane's head looks. A request asking 8192 waits for a runner loaded for 8192 (`RunnerContexts`);
/// at the head of one line it held back every request behind it, those that set no length too,
/// while the model's other runners had slots free for them: at a cold start with 30 % of clients
/// asking 8192, 41 requests queued for the hottest model behind one load, and some were refused.
final class WaitQueues: Sendable {
    enum Wake: Sendable { case turn, timedOut, cancelled }

    private struct Parked {
        let continuation: CheckedContinuation<Wake, Never>
        let deadline: ContinuousClock.Instant

        func resume(returning wake: Wake) { continuation.resume(returning: wake) }
    }

    private struct Entry {
        let ticket: UInt64
        /// The context length asked (nil: none).
        let lane: Int?
    }

    private struct Queue {
        var entries: [Entry] = []
        var parked: [UInt64: Parked] = [:]

        func entry(_ ticket: UInt64) -> Entry? {
            entries.first { $0.ticket == ticket }
        }

        /// The first ticket of every lane.
        var heads: [UInt64] {
            var seen: [Int?] = []
            var heads: [UInt64] = []
            for entry in entries where !seen.contains(entry.lane) {
                seen.append(entry.lane)
                heads.append(entry.ticket)
            }
            return heads
        }

        func head(of lane: Int?) -> UInt64? {
            entries.first { $0.lane == lane }?.ticket
        }
    }

    private let state = Mutex<[ModelName: Queue]>([:])
    private let nextTicket = Atomic<UInt64>(1)
    private let epochCounter = Atomic<UInt64>(0)
    /// One task times out waits while any request is parked (a timer task per wait, cancelled when
    /// the wait ends, would cost memory the Swift runtime does not give back).
    private let sweeperRunning = Atomic<Bool>(false)
    static let sweepPeriod = Duration.milliseconds(20)

    /// Advances whenever capacity may have changed anywhere.
    var epoch: UInt64 { epochCounter.load(ordering: .acquiring) }

    func isEmpty(_ model: ModelName) -> Bool {
        state.withLock { $0[model]?.entries.isEmpty ?? true }
    }

    /// Every request queued for the model, whatever length it asked.
    func count(_ model: ModelName) -> Int {
        state.withLock { $0[model]?.entries.count ?? 0 }
    }

    /// The requests queued for the model that asked `contextLength` (nil: none): those a new
    /// request asking it would wait behind.
    func count(_ model: ModelName, lane contextLength: Int?) -> Int {
        state.withLock { queues in queues[model]?.entries.lazy.filter { $0.lane == contextLength }.count ?? 0 }
    }

    /// Every non-empty queue's length.
    func counts() -> [ModelName: Int] {
        state.withLock { queues in queues.compactMapValues { $0.entries.isEmpty ? nil : $0.entries.count } }
    }

    /// How many requests are ahead of `ticket` in its lane of its model's queue (nil once it left).
    func position(_ model: ModelName, _ ticket: UInt64) -> Int? {
        state.withLock { queues -> Int? in
            guard let queue = queues[model], let entry = queue.entry(ticket) else { return nil }
            return queue.entries.prefix { $0.ticket != ticket }.lazy.filter { $0.lane == entry.lane }.count
        }
    }

    /// Joins the back of the model's queue in the lane of `contextLength`; nil when the queue
    /// already holds `maxLength` requests, of every lane.
    func enqueue(_ model: ModelName, lane contextLength: Int?, maxLength: Int) -> UInt64? {
        let ticket = nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        return state.withLock { queues -> UInt64? in
            guard (queues[model]?.entries.count ?? 0) < maxLength else { return nil }
            queues[model, default: Queue()].entries.append(Entry(ticket: ticket, lane: contextLength))
            return ticket
        }
    }

    /// Leaves the queue (served, failed or gone) and lets the next request of its lane look.
    func leave(_ model: ModelName, _ ticket: UInt64) {
        let wake = state.withLock { queues -> Parked? in
            guard var queue = queues[model], let entry = queue.entry(ticket) else { return nil }
            queue.entries.removeAll { $0.ticket == ticket }
            let parked = queue.parked.removeValue(forKey: ticket)
            let nextHead = queue.head(of: entry.lane).flatMap { queue.parked.removeValue(forKey: $0) }
            queues[model] = queue.entries.isEmpty ? nil : queue
            parked?.resume(returning: .cancelled)
            return nextHead
        }
        wake?.resume(returning: .turn)
    }

    /// Capacity may have changed: the head of every lane of every queue looks again.
    func capacityChanged() {
        epochCounter.wrappingAdd(1, ordering: .releasing)
        let heads = state.withLock { queues -> [Parked] in
            var heads: [Parked] = []
            for (model, var queue) in queues where !queue.parked.isEmpty {
                for head in queue.heads {
                    if let parked = queue.parked.removeValue(forKey: head) { heads.append(parked) }
                }
                queues[model] = queue
            }
            return heads
        }
        for head in heads { head.resume(returning: .turn) }
    }

    /// Waits until `ticket` is at the head of its lane and capacity changed since `seenEpoch` (at
    /// once when `seenEpoch` is nil), or the deadline passes.
    func waitForTurn(_ model: ModelName, _ ticket: UInt64, seenEpoch: UInt64?, deadline: ContinuousClock.Instant) async -> Wake {
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Wake, Never>) in
                let immediate = state.withLock { queues -> Wake? in
                    guard var queue = queues[model], let entry = queue.entry(ticket) else { return .cancelled }
                    if Task.isCancelled { return .cancelled }
                    if ContinuousClock.now >= deadline { return .timedOut }
                    if queue.head(of: entry.lane) == ticket && (seenEpoch == nil || epoch != seenEpoch) { return .turn }
                    queue.parked[ticket] = Parked(continuation: continuation, deadline: deadline)
                    queues[model] = queue
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) } else { startSweeperIfNeeded() }
            }
        } onCancel: {
            wake(model, ticket, .cancelled)
        }
    }

    private func startSweeperIfNeeded() {
        guard sweeperRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        Task { [self] in
            while true {
                try? await Task.sleep(for: Self.sweepPeriod)
                if expireDue(now: .now) { continue }
                // Nothing parked: stop, unless a wait was parked after the check.
                sweeperRunning.store(false, ordering: .releasing)
                guard state.withLock({ $0.values.contains { !$0.parked.isEmpty } }),
                    sweeperRunning.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
                else { return }
            }
        }
    }

    /// Wakes every parked wait whose deadline has passed; returns whether any wait is still parked.
    private func expireDue(now: ContinuousClock.Instant) -> Bool {
        var expired: [Parked] = []
        let remaining = state.withLock { queues -> Bool in
            var remaining = false
            for (model, var queue) in queues where !queue.parked.isEmpty {
                for (ticket, parked) in queue.parked where parked.deadline <= now {
                    expired.append(parked)
                    queue.parked.removeValue(forKey: ticket)
                }
                remaining = remaining || !queue.parked.isEmpty
                queues[model] = queue
            }
            return remaining
        }
        for parked in expired { parked.resume(returning: .timedOut) }
        return remaining
    }

    private func wake(_ model: ModelName, _ ticket: UInt64, _ reason: Wake) {
        let parked = state.withLock { queues -> Parked? in
            queues[model]?.parked.removeValue(forKey: ticket)
        }
        parked?.resume(returning: reason)
    }
}
