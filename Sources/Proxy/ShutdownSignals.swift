import Dispatch
@preconcurrency import Glibc

/// SIGINT and SIGTERM arrive on a Dispatch queue of their own, never on the main actor, so the
/// handler lives outside top-level code (whose closures are main-actor isolated and would trap
/// when Dispatch runs them elsewhere).
enum ShutdownSignals {
    /// Ignores the default disposition of SIGINT and SIGTERM and calls `stop` once for the first of them.
    /// Keep the returned sources alive for the life of the process.
    static func install(logger: Logger, stop: @escaping @Sendable () async -> Void) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "tensorwall.signals")
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { @Sendable in
                logger.info("received signal \(number), shutting down")
                Task {
                    await stop()
                    exit(0)
                }
            }
            source.activate()
            return source
        }
    }
}
