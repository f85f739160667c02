import Balancer
import Foundation

/// Reads and checks `cluster.json` the same way at start-up (where a failure stops the process)
/// and on SIGHUP (where a failure keeps the running config).
struct ConfigLoader: Sendable {
    let path: String
    let hostOverride: String?
    let portOverride: Int?

    /// The config, or one line naming the problem.
    func load(environment: [String: String] = ProcessInfo.processInfo.environment) -> Result<ClusterConfig, ConfigLoadFailure> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ConfigLoadFailure("cannot read config file \(path)"))
        }
        do {
            var config = try ClusterConfig.parse([UInt8](data))
            try config.applyEnvironment(environment)
            if let hostOverride { config.listen.host = hostOverride }
            if let portOverride { config.listen.port = portOverride }
            if config.nodes.isEmpty && config.cloud.isEmpty {
                return .failure(ConfigLoadFailure("\(path): nodes: at least one node is required"))
            }
            if let usageLog = config.usageLog, UsageLog(path: usageLog) == nil {
                return .failure(ConfigLoadFailure("\(path): usageLog: cannot open \(usageLog) for appending"))
            }
            return .success(config)
        } catch {
            return .failure(ConfigLoadFailure("\(path): \(error)"))
        }
    }
}

struct ConfigLoadFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
