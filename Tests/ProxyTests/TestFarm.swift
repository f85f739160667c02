import Balancer
import HTTP1
import OllamaSimulator
import Synchronization
import Testing
import WireFormats

@testable import Proxy

/// Simulated Ollama nodes behind a real TensorWall gateway, everything on loopback port 0.
final class TestFarm: Sendable {
    let nodes: [OllamaSimulator]
    let gateway: Gateway
    let port: Int
    let client = HTTPClient()
    static let key = "gw_test_key"

    struct NodeSpec {
        var models: [String] = ["llama3.2"]
        var preload: [String] = []
        var maxParallel = 2
        /// As a `cluster.json` without `maxParallel`: TensorWall starts from `maxParallel` and probes for more.
        var discoversParallelSlots = false
        var priority = 0
        var weight = 100
        var numParallel = 4
        /// Simulated seconds per GB of a cold load (real time is a thousandth of it).
        var loadSecondsPerGB = 2.0
        var tokensPerSecond = 1000.0
        var version = "0.12.6"
        /// Paths the node has no route for (an Ollama older than an API).
        var absentPaths: Set<String> = []
        /// What `/api/status` says of the node's cloud switch (nil: an Ollama without the route).
        var cloudDisabled: Bool? = false
        var cloudSwitchSource = "none"
        /// Models `/api/pull` can fetch.
        var registry: [String] = []
        /// How the node lays out its JSON answers.
        var encoding = AnswerEncoding.go
        /// The node's VRAM, as the simulator enforces it and `cluster.json` gives it (`vramGB`).
        var vramGB: Double?
        /// What a loaded runner takes beyond its 2 GB of weights (KV cache, graph), in `/api/ps` and in VRAM.
        var runnerOverheadGB = 0.0
        /// What `cluster.json` says of the VRAM, when it differs from what the node has (`vramGB`).
        var configuredVRAMGB: Double??
        /// With other models loaded, a load must fit in this share of the free VRAM (Ollama's rule; nil: in all of it).
        var loadFitShareOfFree: Double?
        /// Which idle model the node unloads on its own to make room.
        var evictionOrder = EvictionOrder.leastRecentlyUsed
        /// Simulated seconds of every answer that Ollama's durations other than `total_duration` leave out.
        var uncountedSecondsPerAnswer = 0.0
        /// What the node's reported durations are multiplied by (0.2: a simulator slowed five times reporting simulated time).
        var reportedDurationScale = 1.0
        /// `PARAMETER num_ctx` in a model's Modelfile, by model.
        var modelfileContextLengths: [String: Int] = [:]
        /// Simulated seconds (a thousandth of them real); -1 keeps models loaded for good.
        var keepAliveSeconds = -1.0
        /// How far the node's clock is ahead of the machine's, in real seconds.
        var clockOffsetSeconds = 0.0
        /// Weights of models that are not the usual 2 GB, in GB.
        var modelSizesGB: [String: Double] = [:]
        /// The node's own `OLLAMA_MAX_LOADED_MODELS`; `cluster.json` keeps the default of 3.
        var ollamaMaxLoadedModels = 3
    }

    static func start(
        _ specs: [NodeSpec], intervalMs: Int = 50, probeTimeoutMs: Int = 1000, unhealthyAfter: Int = 2, healthyAfter: Int = 1,
        environment: [String: String] = [:], logs: LogCapture? = nil, configure: (inout ClusterConfig) -> Void = { _ in }
    ) async throws -> TestFarm {
        var simulators: [OllamaSimulator] = []
        var config = ClusterConfig()
        for (index, spec) in specs.enumerated() {
            let models = spec.models.map {
                SimulatedModel($0, sizeGB: spec.modelSizesGB[$0] ?? 2, modelfileContextLength: spec.modelfileContextLengths[$0])
            }
            var simulation = SimulatorConfiguration(name: "node\(index)", models: models)
            simulation.timeScale = 0.001
            simulation.numParallel = spec.numParallel
            simulation.keepAliveSeconds = spec.keepAliveSeconds
            simulation.clockOffsetSeconds = spec.clockOffsetSeconds
            simulation.maxLoadedModels = spec.ollamaMaxLoadedModels
            simulation.tokensPerSecond = spec.tokensPerSecond
            simulation.loadSecondsPerGB = spec.loadSecondsPerGB
            simulation.version = spec.version
            simulation.absentPaths = spec.absentPaths
            simulation.cloudDisabled = spec.cloudDisabled
            simulation.cloudSwitchSource = spec.cloudSwitchSource
            simulation.registry = spec.registry.map { SimulatedModel($0, sizeGB: 2) }
            simulation.encoding = spec.encoding
            simulation.vramBytes = spec.vramGB.map { Int64($0 * 1e9) }
            simulation.runnerOverheadBytes = Int64(spec.runnerOverheadGB * 1e9)
            simulation.loadFitShareOfFree = spec.loadFitShareOfFree
            simulation.evictionOrder = spec.evictionOrder
            simulation.uncountedSecondsPerAnswer = spec.uncountedSecondsPerAnswer
            simulation.reportedDurationScale = spec.reportedDurationScale
            let simulator = OllamaSimulator(simulation)
            let port = try simulator.start()
            for model in spec.preload { await simulator.preload(model) }
            simulators.append(simulator)
            var node = ClusterConfig.NodeConfig(name: "node\(index)", url: NodeURL("http://127.0.0.1:\(port)")!)
            node.maxParallel = spec.maxParallel
            node.discoversParallelSlots = spec.discoversParallelSlots
            node.priority = spec.priority
            node.weight = spec.weight
            node.vramGB = spec.configuredVRAMGB ?? spec.vramGB
            config.nodes.append(node)
        }
        config.listen = .init(host: "127.0.0.1", port: 0)
        config.apiKeys = [.init(name: "tests", key: key)]
        // A probe gets a second: on a host running the whole suite at once, a loopback answer from a
        // healthy simulator has taken more than 200 ms, and two such probes took a node out of service.
        config.health = .init(intervalMs: intervalMs, timeoutMs: probeTimeoutMs, unhealthyAfter: unhealthyAfter, healthyAfter: healthyAfter)
        // Long enough for a cold load queued behind another (4 s here) on a host that runs at half speed.
        config.timeouts.firstByteMs = 30_000
        configure(&config)
        let logger = logs.map { capture in Logger(minimum: .debug, sink: { capture.append($0) }) } ?? Logger(minimum: .error)
        let gateway = Gateway(config: config, logger: logger, environment: environment)
        let port = try await gateway.start()
        let shutdown = ShutdownRequest()
        // The gateway serves as `tensorwall` does, its services under one group, until the teardown asks it to stop.
        let serving = Task { await gateway.serve(until: shutdown) }
        let farm = TestFarm(nodes: simulators, gateway: gateway, port: port, shutdown: shutdown, serving: serving)
        Teardown.add { await farm.stop() }
        return farm
    }

    private let shutdown: ShutdownRequest
    private let serving: Task<Void, Never>

    private init(nodes: [OllamaSimulator], gateway: Gateway, port: Int, shutdown: ShutdownRequest, serving: Task<Void, Never>) {
        self.nodes = nodes
        self.gateway = gateway
        self.port = port
        self.shutdown = shutdown
        self.serving = serving
    }

    private let stopped = Atomic<Bool>(false)

    /// Stops the gateway and the nodes; a second call (the teardown after a test that stopped it) does nothing.
    func stop() async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown.request(.immediately)
        await serving.value
        for node in nodes { node.stop() }
        client.shutdown()
    }

    func request(_ method: String = "POST", _ path: String, body: String = "", headers: HTTPHeaders? = nil) async throws
        -> HTTPClientResponse
    {
        try await request(method, path, bytes: Array(body.utf8), headers: headers)
    }

    /// Sends a body of any bytes (a compressed one, say).
    func request(_ method: String = "POST", _ path: String, bytes: [UInt8], headers: HTTPHeaders? = nil) async throws
        -> HTTPClientResponse
    {
        var sent = headers ?? ["X-API-Key": Self.key, "Content-Type": "application/json"]
        if headers == nil && bytes.isEmpty { sent.remove("Content-Type") }
        return try await client.execute(
            HTTPClientRequest(method: method, host: "127.0.0.1", port: port, target: path, headers: sent, body: bytes),
            timeouts: HTTPClientTimeouts(connect: .seconds(2), responseHead: .seconds(60), idleRead: .seconds(60)))
    }

    /// Sends and reads the whole answer as JSON.
    func json(_ method: String = "POST", _ path: String, body: String = "", headers: HTTPHeaders? = nil) async throws -> (
        status: Int, headers: HTTPHeaders, body: JSONValue
    ) {
        let response = try await request(method, path, body: body, headers: headers)
        let bytes = try await response.collect()
        return (response.status, response.headers, try JSONParser.parse(bytes))
    }

    func chat(_ model: String = "llama3.2", stream: Bool = false, extra: String = "") async throws -> (status: Int, body: JSONValue) {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"Hello!"}],"stream":\#(stream)\#(extra)}"#
        let answer = try await json("POST", "/v1/chat/completions", body: body)
        return (answer.status, answer.body)
    }

    /// Sends and reads the whole answer as text.
    func text(_ method: String = "POST", _ path: String, body: String = "", headers: HTTPHeaders? = nil) async throws -> (
        status: Int, headers: HTTPHeaders, body: String
    ) {
        let response = try await request(method, path, body: body, headers: headers)
        return (response.status, response.headers, String(decoding: try await response.collect(), as: UTF8.self))
    }

    func health(of index: Int) async -> NodeHealth {
        await gateway.cluster.nodes[index].snapshot(index: index).health
    }

    /// Polls `condition` until it holds or `limit` passes; the limit is generous (it is only reached
    /// when the test fails, or on a host that stalls), the poll is fast.
    func eventually(_ limit: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return await condition()
    }

    func waitUntilAllHealthy() async throws {
        let healthy = await eventually {
            var all = true
            for index in nodes.indices where await health(of: index) != .healthy { all = false }
            return all
        }
        try #require(healthy, "nodes never became healthy")
    }
}

extension TestFarm {
    /// The slots per model the cluster counts on node 0; with `expected`, polled for up to 6 s until
    /// it says so (a request's slot is given back just after its answer ends; in a CI run of the whole
    /// suite that once took longer than 2 s).
    func knownParallelSlots(settlingOn expected: Int? = nil) async throws -> Int {
        var slots = await gateway.cluster.snapshots()[0].maxParallel
        for _ in 0..<120 where expected != nil && slots != expected {
            try await Task.sleep(for: .milliseconds(50))
            slots = await gateway.cluster.snapshots()[0].maxParallel
        }
        return slots
    }
}

/// Reads server-sent events one at a time from a streamed response.
struct EventReader {
    let response: HTTPClientResponse
    private var pending = ""

    init(_ response: HTTPClientResponse) {
        self.response = response
    }

    /// The next `data:` payload, or nil at the end of the stream.
    mutating func next() async throws -> String? {
        while true {
            if let range = pending.range(of: "\n\n") {
                let event = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                if event.hasPrefix("data: ") { return String(event.dropFirst(6)) }
                continue
            }
            guard let piece = try await response.next() else { return nil }
            pending += String(decoding: piece, as: UTF8.self)
        }
    }
}

/// Collects log lines so tests can check what was (and was not) logged.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined() } }
}
