import Dispatch
@preconcurrency import Glibc

/// Turns signals into work: SIGHUP reloads `cluster.json` (reloads run one at a time, and the
/// SIGHUPs that arrive during one collapse into a single reload after it, so the last file
/// written is the one in force); the first SIGINT or SIGTERM asks for a drain, a second one for an
/// immediate stop. Dispatch delivers the signals; everything else happens in this service's task.
struct SignalService: Service {
    let logger: Logger
    let shutdown: ShutdownRequest
    let reload: @Sendable () async -> Void

    func run() async {
        let (reloads, reloadRequests) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (stops, stopRequests) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "tensorwall.signals")
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGHUP, SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { @Sendable in
                if number == SIGHUP { reloadRequests.yield() } else { stopRequests.yield(number) }
            }
            source.activate()
            sources.append(source)
        }
        defer { for source in sources { source.cancel() } }
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in reloads {
                    logger.info("received SIGHUP, reloading the config")
                    await reload()
                }
            }
            group.addTask {
                var received = 0
                for await number in stops {
                    received += 1
                    if received == 1 {
                        logger.info("received signal \(number), shutting down")
                        shutdown.request(.drain)
                    } else {
                        logger.warning("received signal \(number) again: stopping now")
                        shutdown.request(.immediately)
                    }
                }
            }
        }
    }
}
