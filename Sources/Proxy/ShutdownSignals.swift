import Dispatch
@preconcurrency import Glibc
import Synchronization

/// SIGINT and SIGTERM arrive on a Dispatch queue of their own, never on the main actor, so the
/// handler lives outside top-level code (whose closures are main-actor isolated and would trap
/// when Dispatch runs them elsewhere). The first signal drains; a second one exits at once.
enum ShutdownSignals {
    /// Ignores the default disposition of SIGINT and SIGTERM; the first of them runs `drain` and
    /// exits 0 when it returns, a second one exits 0 immediately. Keep the returned sources alive.
    static func install(logger: Logger, drain: @escaping @Sendable () async -> Void) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "tensorwall.signals")
        let received = Mutex(0)
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { @Sendable in
                let count = received.withLock { count -> Int in
                    count += 1
                    return count
                }
                if count > 1 {
                    logger.warning("received signal \(number) again: stopping now")
                    exit(0)
                }
                logger.info("received signal \(number), shutting down")
                Task {
                    await drain()
                    logger.info("stopped")
                    exit(0)
                }
            }
            source.activate()
            return source
        }
    }
}
