import Balancer
import Dispatch
import Foundation
@preconcurrency import Glibc
import WireFormats

let version = "0.1.0"

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("tensorwall: \(message)\n".utf8))
    exit(status)
}

let options: CommandLineOptions
do {
    options = try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail(error.description, status: 2)
}

func loadOrExit(_ loader: ConfigLoader) -> ClusterConfig {
    switch loader.load() {
    case .success(let config): return config
    case .failure(let failure): fail(failure.description, status: 2)
    }
}

switch options.action {
case .help:
    print(CommandLineOptions.usage)
    exit(0)
case .version:
    print("tensorwall \(version)")
    exit(0)
case .checkConfig(let path):
    let config = loadOrExit(ConfigLoader(path: path, hostOverride: nil, portOverride: nil))
    print(ConfigExplanation.lines(config, path: path, environment: ProcessInfo.processInfo.environment).joined(separator: "\n"))
    exit(0)
case .hashKey:
    let key = String((readLine(strippingNewline: true) ?? "").trimmingSpacesAndTabs())
    guard !key.isEmpty else { fail("hash-key: no key on standard input", status: 2) }
    print(SHA256.hex(key))
    exit(0)
case .demo(let port, let rate, let duration):
    let logger = Logger(minimum: Logger.Level(name: options.logLevel == "info" ? "warning" : options.logLevel) ?? .warning)
    exit(await DemoCommand(port: port, rate: rate, duration: duration).run(logger: logger))
case .top(let url, let key, let once):
    exit(await TopCommand.run(url: url, key: key, once: once))
case .serve:
    break
}

// The same loader serves start-up and SIGHUP, so a reload applies the same overrides.
let loader = ConfigLoader(path: options.configPath, hostOverride: options.host, portOverride: options.port)
let config = loadOrExit(loader)
let logger = Logger(minimum: Logger.Level(name: options.logLevel) ?? .info)
if config.apiKeys.isEmpty { logger.warning("apiKeys is empty: every client is let in without a key") }
let gateway = Gateway(config: config, logger: logger)
do {
    let port = try await gateway.start()
    logger.info(
        "tensorwall \(version) listening on \(config.listen.host):\(port) with \(config.nodes.count) node(s), strategy \(config.strategy.rawValue)"
    )
    for node in config.nodes {
        logger.info("node \(node.name) at \(node.url) priority \(node.priority) weight \(node.weight) maxParallel \(node.maxParallel)")
    }
} catch {
    fail("cannot listen on \(config.listen.host):\(config.listen.port): \(error)", status: 1)
}

let signalSources =
    ShutdownSignals.install(logger: logger) { await gateway.drain() }
    + [
        ReloadSignal.install(logger: logger) {
            switch loader.load() {
            case .success(let config): await gateway.reload(config)
            case .failure(let failure): logger.error("reload refused, the running config stays: \(failure)")
            }
        }
    ]
// The async main already drives the main queue; suspend here for the life of the process
// (calling dispatchMain() from async code would exit the thread under the running queue).
while true {
    try? await Task.sleep(for: .seconds(86_400))
    withExtendedLifetime(signalSources) {}
}
