import Balancer
import Dispatch
import Foundation
@preconcurrency import Glibc
import WireFormats

let version = "0.1.0"

func fail(_ message: String, status: Int32) -> Never {
    printError(message)
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

exit(await ServeCommand(options: options, version: version).run())
