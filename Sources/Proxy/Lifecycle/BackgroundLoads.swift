/// Runs the preloads the warmer and the replicator start, each as a child task of this service,
/// so a load outlives the probe round that decided it but not the process's shutdown.
struct BackgroundLoads: Service {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let submissions: AsyncStream<@Sendable () async -> Void>.Continuation

    init() {
        (jobs, submissions) = AsyncStream.makeStream()
    }

    /// Queues `job`; false once the service has stopped (the caller must then undo what it claimed).
    func submit(_ job: @escaping @Sendable () async -> Void) -> Bool {
        if case .enqueued = submissions.yield(job) { return true }
        return false
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs { group.addTask { await job() } }
        }
        submissions.finish()
    }
}
