import Balancer
import Foundation

/// `tensorwall` (no sub-command): loads the config, listens, and serves until SIGINT or SIGTERM;
/// SIGHUP reloads. Returns the process's exit status; `main` exits with it.
struct ServeCommand {
    let options: CommandLineOptions
    let version: String

    func run() async -> Int32 {
        // The same loader serves start-up and SIGHUP, so a reload applies the same overrides.
        let loader = ConfigLoader(path: options.configPath, hostOverride: options.host, portOverride: options.port)
        let config: ClusterConfig
        switch loader.load() {
        case .success(let loaded): config = loaded
        case .failure(let failure):
            printError(failure.description)
            return 2
        }
        let logger = Logger(minimum: Logger.Level(name: options.logLevel) ?? .info)
        if config.apiKeys.isEmpty { logger.warning("apiKeys is empty: every client is let in without a key") }
        let gateway = Gateway(config: config, logger: logger)
        do {
            let port = try await gateway.start()
            logger.info(
                "tensorwall \(version) listening on \(config.listen.host):\(port) with \(config.nodes.count) node(s), strategy \(config.strategy.rawValue)"
            )
            for node in config.nodes {
                logger.info(
                    "node \(node.name) at \(node.url) priority \(node.priority) weight \(node.weight) maxParallel \(node.maxParallel)")
            }
        } catch {
            printError("cannot listen on \(config.listen.host):\(config.listen.port): \(error)")
            return 1
        }
        let shutdown = ShutdownRequest()
        let signals = SignalService(logger: logger, shutdown: shutdown) {
            switch loader.load() {
            case .success(let config): await gateway.reload(config)
            case .failure(let failure): logger.error("reload refused, the running config stays: \(failure)")
            }
        }
        await gateway.serve(until: shutdown, alongside: [signals])
        logger.info("stopped")
        return 0
    }
}
