import Balancer

/// What `tensorwall check-config` prints for a valid file: the effective settings, defaults
/// included, so an operator sees what the balancer will do. Keys and secrets are never shown.
enum ConfigExplanation {
    static func lines(_ config: ClusterConfig, path: String, environment: [String: String]) -> [String] {
        var out = [
            "\(path): valid",
            "listen \(config.listen.host):\(config.listen.port); \(config.apiKeys.count) gateway key(s)"
                + (config.apiKeys.isEmpty ? " (none: every client is let in)" : ": " + config.apiKeys.map(\.name).joined(separator: ", ")),
            "strategy \(config.strategy.rawValue); health probe every \(config.health.intervalMs) ms (timeout \(config.health.timeoutMs) ms), unhealthy after \(config.health.unhealthyAfter) failure(s), healthy after \(config.health.healthyAfter) success(es)",
            "queue per model: at most \(config.queue.maxLength) waiting, \(config.queue.maxWaitMs) ms each; upstream timeouts: connect \(config.timeouts.connectMs) ms, first byte \(config.timeouts.firstByteMs) ms, idle \(config.timeouts.idleMs) ms",
        ]
        out.append("nodes (\(config.nodes.count)):")
        for node in config.nodes {
            var line =
                "  \(node.name)  \(node.url)  priority \(node.priority)  weight \(node.weight)  \(node.maxParallel) slot(s) per model"
                + (node.discoversParallelSlots ? " (more if probing finds them)" : "")
            line += "  up to \(node.maxLoadedModels) loaded model(s)"
            line +=
                node.vramGB.map { "  \($0) GB VRAM" }
                ?? "  VRAM unknown (planned up to what the farm's nodes held; learned when Ollama unloads a model to make room)"
            out.append(line)
        }
        if !config.cloud.isEmpty {
            out.append("cloud endpoints (\(config.cloud.count)):")
            for endpoint in config.cloud {
                let key =
                    endpoint.apiKeyEnv.map { environment[$0]?.isEmpty == false ? "key from $\($0) (set)" : "key from $\($0) (NOT SET)" }
                    ?? "no key"
                out.append(
                    "  \(endpoint.name)  \(endpoint.url)  priority \(endpoint.priority)  weight \(endpoint.weight)  \(key)  models: \(endpoint.models.joined(separator: ", "))"
                )
            }
        }
        if !config.routes.isEmpty {
            out.append("routes (\(config.routes.count)):")
            for alias in config.routes.keys.sorted() {
                let strategy = config.routeStrategies[alias] ?? config.strategy
                let targets = config.routes[alias]!.map { "\($0.target) (priority \($0.priority), weight \($0.weight))" }
                out.append("  \(alias) [\(strategy.rawValue)] → " + targets.joined(separator: ", "))
            }
        }
        var extras: [String] = []
        if let keepAlive = config.keepAlive { extras.append("default keep_alive \(keepAlive.serializedString())") }
        if !config.warm.isEmpty {
            extras.append(
                "warm: " + config.warm.sorted { $0.key < $1.key }.map { "\($0.key) on \($0.value) node(s)" }.joined(separator: ", "))
        }
        extras.append(
            config.replicate && config.strategy == .affinity ? "copies of models in demand: on" : "copies of models in demand: off")
        if config.numCtx == .atLeast { extras.append("num_ctx: a longer runner serves a shorter ask (atLeast)") }
        if let usageLog = config.usageLog { extras.append("usage log \(usageLog)") }
        if !config.allowedOrigins.isEmpty {
            extras.append("browser pages allowed besides localhost's: " + config.allowedOrigins.joined(separator: ", "))
        }
        out.append(extras.joined(separator: "; "))
        return out
    }
}
