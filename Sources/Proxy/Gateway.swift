import Balancer
import Foundation
import HTTP1
import Health
import Synchronization

/// TensorWall assembled from a config: the cluster of node actors, the health monitor probing
/// them, the upstream client, and the HTTP server clients talk to.
final class Gateway: Sendable {
    let config: ClusterConfig
    let cluster: Cluster
    let monitor: HealthMonitor
    let client: HTTPClient
    let logger: Logger
    let authenticator: Authenticator
    /// Guards `/status`, `/dashboard` and `/metrics` when `adminKeys` is set (open otherwise).
    let adminAuthenticator: Authenticator
    let startedAt = ContinuousClock.now
    let upstreamTimeouts: HTTPClientTimeouts
    let cloud: CloudClient
    /// Where cloud API keys are read from (the process environment outside tests).
    let environment: [String: String]
    private let rotations = Mutex<[String: Int]>([:])
    private let server = Mutex<HTTPServer?>(nil)
    let idRandom = Mutex(SystemRandomNumberGenerator())
    let usage = UsageLedger()
    let usageLog: UsageLog?

    init(
        config: ClusterConfig, logger: Logger, random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.config = config
        self.environment = environment
        self.cloud = CloudClient(idleTimeout: Double(config.timeouts.idleMs) / 1000)
        self.logger = logger
        self.usageLog = config.usageLog.flatMap { path in
            let log = UsageLog(path: path)
            if log == nil { logger.error("cannot open usage log \(path) for appending; usage is kept in memory only") }
            return log
        }
        self.cluster = Cluster(
            nodes: config.nodes, strategy: config.strategy, queue: config.queue, outlier: config.outlier, random: random)
        self.client = HTTPClient()
        self.authenticator = Authenticator(keys: config.apiKeys)
        self.adminAuthenticator = Authenticator(keys: config.adminKeys)
        self.upstreamTimeouts = HTTPClientTimeouts(
            connect: .milliseconds(config.timeouts.connectMs), responseHead: .milliseconds(config.timeouts.firstByteMs),
            idleRead: .milliseconds(config.timeouts.idleMs))
        self.monitor = HealthMonitor(
            cluster: cluster, settings: config.health, transport: NodeProbeTransport(client: client),
            wallClock: { WallClock.now() }, log: { [logger] line in logger.info(line) })
    }

    /// Starts listening and probing; returns the bound port.
    @discardableResult
    func start() async throws -> Int {
        var serverConfiguration = HTTPServerConfiguration(host: config.listen.host, port: config.listen.port)
        serverConfiguration.maxHeaderBytes = config.limits.maxHeaderBytes
        serverConfiguration.maxBodyBytes = config.limits.maxBodyBytes
        serverConfiguration.headerTimeout = .milliseconds(config.limits.headerTimeoutMs)
        serverConfiguration.idleTimeout = .milliseconds(config.limits.idleTimeoutMs)
        serverConfiguration.maxConnections = config.limits.maxConnections
        let server = HTTPServer(configuration: serverConfiguration, renderError: Self.renderServerError) { [weak self] request, writer in
            await self?.handle(request, writer)
        }
        let port = try server.start()
        self.server.withLock { $0 = server }
        let preloader = Preloader(
            cluster: cluster, client: client, timeouts: upstreamTimeouts, logger: logger)
        let warmer = Warmer(config: config, cluster: cluster, preloader: preloader)
        let replicator =
            config.replicate && config.strategy == .affinity
            ? Replicator(cluster: cluster, preloader: preloader, keepAlive: config.keepAlive) : nil
        if !warmer.isEmpty || replicator != nil {
            await monitor.setAfterRound {
                await warmer.topUp()
                await replicator?.topUp()
            }
        }
        await monitor.start()
        return port
    }

    /// Graceful stop: no new connections, requests in flight finish (up to `timeouts.drainMs`), then `stop()`.
    func drain() async {
        let deadline = Duration.milliseconds(config.timeouts.drainMs)
        let server = self.server.withLock { $0 }
        let running = server?.activeRequests ?? 0
        logger.info("draining: \(running) request(s) in flight, waiting up to \(config.timeouts.drainMs) ms")
        let left = await server?.drain(deadline: deadline) ?? 0
        if left > 0 { logger.warning("drain deadline passed with \(left) request(s) still running; closing them") }
        await stop()
    }

    func stop() async {
        await monitor.stop()
        server.withLock { $0 }?.stop()
        client.shutdown()
        cloud.shutdown()
    }

    var port: Int { server.withLock { $0?.port ?? 0 } }

    /// A per-route counter for `round_robin` over a route's targets.
    func routeRotation(_ route: String) -> Int {
        rotations.withLock { rotations in
            defer { rotations[route, default: 0] &+= 1 }
            return rotations[route, default: 0]
        }
    }

    func newCompletionID() -> String {
        idRandom.withLock { ChatResponseTranslation.makeID(using: &$0) }
    }

    /// Errors the HTTP layer itself raises (malformed framing, too large), in the format of the API addressed.
    static let renderServerError: HTTPErrorRenderer = { status, message, path in
        let error = APIError(status: status, message)
        if let path, path.hasPrefix("/v1") { return ("application/json", error.openAIBody.serialized()) }
        if let path, path.hasPrefix("/api") { return ("application/json; charset=utf-8", error.ollamaBody.serialized()) }
        return ("application/json", error.openAIBody.serialized())
    }
}
