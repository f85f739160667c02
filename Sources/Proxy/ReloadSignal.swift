import Dispatch
@preconcurrency import Glibc
import Synchronization

/// SIGHUP reloads `cluster.json`. Reloads run one at a time; a SIGHUP during a reload runs
/// another one after it, so the last file written is the one that ends up in force.
final class ReloadSignal: Sendable {
    private let state = Mutex((running: false, again: false))
    private let logger: Logger
    private let reload: @Sendable () async -> Void

    private init(logger: Logger, reload: @escaping @Sendable () async -> Void) {
        self.logger = logger
        self.reload = reload
    }

    static func install(logger: Logger, reload: @escaping @Sendable () async -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let handler = ReloadSignal(logger: logger, reload: reload)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "tensorwall.reload"))
        source.setEventHandler { @Sendable in handler.received() }
        source.activate()
        return source
    }

    private func received() {
        let start = state.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        if start { run() }
    }

    private func run() {
        Task {
            logger.info("received SIGHUP, reloading the config")
            await reload()
            let again = state.withLock { state -> Bool in
                if state.again {
                    state.again = false
                    return true
                }
                state.running = false
                return false
            }
            if again { run() }
        }
    }
}
