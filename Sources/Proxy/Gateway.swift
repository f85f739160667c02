import APITranslation
import Balancer
import Foundation
import HTTP1
import Health
import Synchronization
import WireFormats

/// What a reload replaces as a whole: the config, the key checks and the upstream timeouts. The
/// cluster and its health monitor are not here: they live as long as the process, and a reload
/// reconfigures them so what was learned about each node carries on.
final class GatewayRuntime: Sendable {
    let config: ClusterConfig
    let authenticator: Authenticator
    /// Guards `/status`, `/dashboard` and `/metrics` when `adminKeys` is set (open otherwise).
    let adminAuthenticator: Authenticator
    let upstreamTimeouts: HTTPClientTimeouts
    /// Which browser pages may call TensorWall (`allowedOrigins`).
    let crossOrigin: CrossOriginPolicy

    init(config: ClusterConfig) {
        self.config = config
        self.crossOrigin = CrossOriginPolicy(configured: config.allowedOrigins)
        self.authenticator = Authenticator(keys: config.apiKeys)
        self.adminAuthenticator = Authenticator(keys: config.adminKeys)
        self.upstreamTimeouts = HTTPClientTimeouts(
            connect: .milliseconds(config.timeouts.connectMs), responseHead: .milliseconds(config.timeouts.firstByteMs),
            idleRead: .milliseconds(config.timeouts.idleMs))
    }

    /// The work after each probe round: new models asked about (`ModelDescriber`), runners for the
    /// automatic length reloaded for the one most requests ask (`RunnerLengthener`), and what this
    /// config asks for: the warm list topped up, copies of models in demand added, demand saved to
    /// the state file every `stateSaveSeconds`.
    func afterProbeRound(cluster: Cluster, client: HTTPClient, loads: BackgroundLoads, logger: Logger) -> @Sendable () async -> Void {
        let stateFile = config.stateFile.map(DemandStateFile.init)
        let preloader = Preloader(cluster: cluster, client: client, timeouts: upstreamTimeouts, logger: logger, loads: loads)
        let warmer = Warmer(config: config, cluster: cluster, preloader: preloader)
        let replicator = replicator(cluster: cluster, preloader: preloader)
        let saver = stateFile.map { StateSaver(file: $0, cluster: cluster, logger: logger) }
        let describer = ModelDescriber(
            cluster: cluster, client: client, timeout: .milliseconds(config.health.timeoutMs), logger: logger, loads: loads)
        let lengthener = RunnerLengthener(cluster: cluster, preloader: preloader, keepAlive: config.keepAlive)
        return {
            await describer.describeNew()
            await warmer.topUp()
            await replicator?.topUp()
            await lengthener.topUp()
            await saver?.saveIfDue()
        }
    }

    /// The plan made as a node leaves service, before it is marked out (see
    /// `HealthMonitor.setBeforeLeavingService`): nil when this config sizes no copies.
    func planAheadOfLeaving(cluster: Cluster, client: HTTPClient, loads: BackgroundLoads, logger: Logger) -> (
        @Sendable (NodeID) async -> Void
    )? {
        let preloader = Preloader(cluster: cluster, client: client, timeouts: upstreamTimeouts, logger: logger, loads: loads)
        guard let replicator = replicator(cluster: cluster, preloader: preloader) else { return nil }
        return { leaving in await replicator.topUp(leaving: leaving) }
    }

    private func preloader(cluster: Cluster, client: HTTPClient, loads: BackgroundLoads, logger: Logger) -> Preloader {
        var preloader = Preloader(cluster: cluster, client: client, timeouts: upstreamTimeouts, logger: logger, loads: loads)
        preloader.stuckLoadWatch = StuckLoadWatch(config.timeouts, cluster: cluster)
        return preloader
    }

    private func replicator(cluster: Cluster, preloader: Preloader) -> Replicator? {
        guard config.replicate && config.strategy == .affinity else { return nil }
        return Replicator(cluster: cluster, preloader: preloader, keepAlive: config.keepAlive)
    }
}

/// TensorWall assembled: the cluster and its health monitor (for the life of the process), the
/// runtime a reload replaces (config, keys, timeouts), the upstream clients, the usage ledger and
/// the HTTP server. `start` listens, `serve` runs the background services until shutdown; the
/// request path starts at `handle` (Routing/Gateway+Routes.swift).
final class Gateway: Sendable {
    private let runtime: Mutex<GatewayRuntime>
    /// The nodes and placement, for the life of the process (a reload reconfigures it).
    let cluster: Cluster
    let monitor: HealthMonitor
    let client: HTTPClient
    let logger: Logger
    let startedAt = ContinuousClock.now
    let cloud: CloudClient
    /// Where cloud API keys are read from (the process environment outside tests).
    let environment: [String: String]
    private let rotations = Mutex<[String: Int]>([:])
    private let server = Mutex<HTTPServer?>(nil)
    let idRandom = Mutex(FastRandom())
    let usage = UsageLedger()
    /// The last hour of the farm, for the status page's charts.
    let history = FarmHistory()
    /// Runs the preloads the warmer and the replicator start.
    let loads = BackgroundLoads()
    /// How much faster than real time the farm runs (1 outside benchmarks on a simulated farm).
    let timeScale: Double
    /// Requests also sent to a second node because the first one's first byte was overdue.
    let hedgesStarted = Atomic<Int>(0)
    /// Why the farm turned requests away, logged at most once per model every few seconds.
    let refusals = RefusalLog()
    /// The API paths nodes were found to have no route for (`AbsentRoutes`).
    let absentRoutes = AbsentRoutes()
    /// Browser requests refused for their page's origin, logged at most once every few seconds.
    let originRefusals = OriginRefusalLog()
    let usageLog: UsageLog?

    /// The runtime a request uses from its first step to its last: taken once when it arrives, so
    /// a reload cannot hand it the old config for one step and the new one for the next, and
    /// reading it takes no lock.
    @TaskLocal static var requestRuntime: GatewayRuntime?

    var current: GatewayRuntime { Self.requestRuntime ?? runtime.withLock { $0 } }
    var config: ClusterConfig { current.config }
    var authenticator: Authenticator { current.authenticator }
    var adminAuthenticator: Authenticator { current.adminAuthenticator }
    var upstreamTimeouts: HTTPClientTimeouts { current.upstreamTimeouts }

    init(
        config: ClusterConfig, logger: Logger, random: any RandomNumberGenerator & Sendable = FastRandom(),
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.environment = environment
        self.cloud = CloudClient(idleTimeout: Double(config.timeouts.idleMs) / 1000)
        self.logger = logger
        self.usageLog = config.usageLog.flatMap { path in
            let log = UsageLog(path: path)
            if log == nil { logger.error("cannot open usage log \(path) for appending; usage is kept in memory only") }
            return log
        }
        self.client = HTTPClient()
        let timeScale = environment["TENSORWALL_TIME_SCALE"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 1
        self.timeScale = timeScale
        self.runtime = Mutex(GatewayRuntime(config: config))
        // With a time scale the cluster counts in the farm's seconds (benchmarks over a simulated farm).
        let farmSeconds: @Sendable () -> Double = { Cluster.monotonicSeconds() / timeScale }
        var costModel = CostModel()
        costModel.suspectNodeSeconds = config.health.suspectSeconds / timeScale
        self.cluster = Cluster(
            nodes: config.nodes, strategy: config.strategy, queue: config.queue, outlier: config.outlier, numCtx: config.numCtx,
            costModel: costModel,
            random: random, clock: farmSeconds, timeScale: timeScale)
        self.monitor = HealthMonitor(
            cluster: cluster, settings: config.health, transport: NodeProbeTransport(client: client),
            wallClock: { WallClock.now() }, log: { [logger] line in logger.info(line) })
    }

    /// Starts listening and probing; returns the bound port.
    @discardableResult
    func start() async throws -> Int {
        let config = self.config
        var serverConfiguration = HTTPServerConfiguration(host: config.listen.host, port: config.listen.port)
        serverConfiguration.maxHeaderBytes = config.limits.maxHeaderBytes
        serverConfiguration.maxBodyBytes = config.limits.maxBodyBytes
        serverConfiguration.headerTimeout = .milliseconds(config.limits.headerTimeoutMs)
        serverConfiguration.idleTimeout = .milliseconds(config.limits.idleTimeoutMs)
        serverConfiguration.maxConnections = config.limits.maxConnections
        // Blob uploads (a model's weights, gigabytes) are relayed to the nodes as they arrive.
        serverConfiguration.streamsBody = { method, path in method == "POST" && path.hasPrefix("/api/blobs/") }
        let server = HTTPServer(configuration: serverConfiguration, renderError: Self.renderServerError) { [weak self] request, writer in
            guard let self else { return }
            await Self.$requestRuntime.withValue(current) { await handle(request, writer) }
        }
        let port = try server.start()
        self.server.withLock { $0 = server }
        if let path = config.stateFile, let saved = DemandStateFile(path: path).load() {
            cluster.seedDemand(saved.state, age: saved.age)
            cluster.seedContextLengths(saved.contextLengths)
            logger.info("demand for \(saved.state.count) model(s) read from \(path), saved \(Int(saved.age)) s ago")
        }
        await installPlanning(current)
        return port
    }

    /// The background work a running gateway needs: probing (and the planning after each round),
    /// the preloads it starts, and the status page's history.
    var services: [any Service] { [monitor, loads, HistorySampler(cluster: cluster, history: history)] }

    /// Serves until `shutdown` asks to stop: runs `services` (and `alongside`, such as signal
    /// handling) as one group; on the first request drains (cut short by a request to stop at
    /// once), then cancels every service and awaits them, then closes the clients.
    func serve(until shutdown: ShutdownRequest, alongside: [any Service] = []) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await ServiceGroup(services: self.services + alongside).run() }
            await shutdown.wait(for: .drain)
            await withTaskGroup(of: Void.self) { draining in
                draining.addTask { await self.drain() }
                draining.addTask { await shutdown.wait(for: .immediately) }
                await draining.next()
                draining.cancelAll()
            }
            group.cancelAll()
        }
        await stop()
    }

    /// Hands the monitor the planning `runtime`'s config asks for: after every probe round, and as a node leaves service.
    private func installPlanning(_ runtime: GatewayRuntime) async {
        await monitor.setAfterRound(runtime.afterProbeRound(cluster: cluster, client: client, loads: loads, logger: logger))
        await monitor.setBeforeLeavingService(runtime.planAheadOfLeaving(cluster: cluster, client: client, loads: loads, logger: logger))
    }

    /// The operator's views of the farm as it is now.
    var statusReport: StatusReport {
        StatusReport(cluster: cluster, usage: usage, history: history, strategy: config.strategy, startedAt: startedAt)
    }
    var metricsExposition: MetricsExposition {
        MetricsExposition(
            cluster: cluster, usage: usage, hedgesStarted: hedgesStarted.load(ordering: .relaxed), refusals: refusals.counts,
            originRefusals: originRefusals.total)
    }

    /// Applies `newConfig`. Nodes whose name and URL are unchanged keep their actor, so their
    /// learned times, ejection and requests in flight carry on; new nodes are probed before this
    /// returns; removed nodes finish what they are running. Requests in flight keep the config
    /// they started with. What needs a restart (listen address, server limits, usage log) is kept
    /// and logged.
    func reload(_ newConfig: ClusterConfig) async {
        let old = current
        var config = newConfig
        for (changed, name) in [
            (config.listen != old.config.listen, "listen"), (config.limits != old.config.limits, "limits"),
            (config.usageLog != old.config.usageLog, "usageLog"),
        ] where changed {
            logger.warning("reload: \(name) changes need a restart; keeping the running value")
        }
        config.listen = old.config.listen
        config.limits = old.config.limits
        config.usageLog = old.config.usageLog
        let next = GatewayRuntime(config: config)
        let change = await cluster.reconfigure(
            nodes: config.nodes, strategy: config.strategy, queue: config.queue, outlier: config.outlier, numCtx: config.numCtx)
        await monitor.update(config.health)
        await installPlanning(next)
        if !change.added.isEmpty { await monitor.probeAll() }
        runtime.withLock { $0 = next }
        func names(_ ids: [NodeID]) -> String { ids.isEmpty ? "none" : ids.map(\.name).joined(separator: ", ") }
        logger.info(
            "reloaded: nodes kept \(names(change.kept)), added \(names(change.added)), removed \(names(change.removed)); \(config.cloud.count) cloud endpoint(s), \(config.routes.count) route(s), strategy \(config.strategy.rawValue)"
        )
    }

    /// Graceful stop: demand saved, no new connections, requests in flight finish (up to
    /// `timeouts.drainMs`, or until the calling task is cancelled), then the server closes.
    func drain() async {
        if let path = config.stateFile {
            DemandStateFile(path: path).save(await cluster.demandState(), contextLengths: cluster.usualContextLengths())
        }
        let deadline = Duration.milliseconds(config.timeouts.drainMs)
        let server = self.server.withLock { $0 }
        let running = server?.activeRequests ?? 0
        logger.info("draining: \(running) request(s) in flight, waiting up to \(config.timeouts.drainMs) ms")
        let left = await server?.drain(deadline: deadline) ?? 0
        if left > 0 { logger.warning("drain deadline passed with \(left) request(s) still running; closing them") }
    }

    /// Closes the server and the upstream clients; the services are stopped by whoever runs them.
    func stop() async {
        server.withLock { $0 }?.stop()
        client.shutdown()
        cloud.shutdown()
    }

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
        if path == "/v1/messages" { return ("application/json", error.anthropicBody.serialized()) }
        if let path, path.hasPrefix("/v1") { return ("application/json", error.openAIBody.serialized()) }
        if let path, path.hasPrefix("/api") { return ("application/json; charset=utf-8", error.ollamaBody.serialized()) }
        return ("application/json", error.openAIBody.serialized())
    }
}
