import Balancer
import Foundation
import HTTP1
import OllamaSimulator

/// `tensorwall demo`: TensorWall in front of a small simulated farm, in one process, for trying it
/// without a GPU. Three nodes with different VRAM hold a handful of models with realistic load
/// times (1 s + 1.5 s/GB) and token rates; a light traffic generator keeps them busy so the status
/// page, `/metrics` and `tensorwall top` have something to show.
struct DemoCommand {
    var port = 8000
    /// Mean requests per second the traffic generator sends (Poisson, Zipf over the chat models).
    var rate = 1.0
    /// Stop after this many seconds (nil: until Ctrl-C).
    var duration: Double?
    static let key = "gw_demo_key"

    static let models: [(name: String, sizeGB: Double)] = [
        ("llama3.2", 2.0), ("phi3", 2.2), ("mistral", 4.1), ("llama3.1:8b", 4.7), ("qwen2.5:7b", 4.7), ("gemma2:9b", 5.4),
    ]
    static let nodes: [(name: String, vramGB: Double, maxLoaded: Int)] = [("gpu-small", 8, 2), ("gpu-medium", 16, 3), ("gpu-large", 24, 3)]

    /// The simulated nodes, started on free loopback ports.
    static func startFarm() throws -> [OllamaSimulator] {
        try nodes.map { spec in
            var configuration = SimulatorConfiguration(
                name: spec.name,
                models: models.map { SimulatedModel($0.name, sizeGB: $0.sizeGB) } + [
                    SimulatedModel("nomic-embed-text", sizeGB: 0.3, isEmbedding: true)
                ])
            configuration.numParallel = 2
            configuration.maxLoadedModels = spec.maxLoaded
            configuration.vramBytes = Int64(spec.vramGB * 1e9)
            configuration.loadBaseSeconds = 1
            configuration.loadSecondsPerGB = 1.5
            configuration.tokensPerSecond = 40
            configuration.responseTokens = 48
            let simulator = OllamaSimulator(configuration)
            _ = try simulator.start()
            return simulator
        }
    }

    /// The config TensorWall runs with in front of `farm`.
    func config(for farm: [OllamaSimulator]) -> ClusterConfig {
        var config = ClusterConfig()
        config.listen = .init(host: "127.0.0.1", port: port)
        config.apiKeys = [.init(name: "demo", key: Self.key)]
        config.health = .init(intervalMs: 1000, timeoutMs: 1000, unhealthyAfter: 2, healthyAfter: 1)
        config.nodes = zip(Self.nodes, farm).map { spec, simulator in
            ClusterConfig.NodeConfig(
                name: spec.name, url: NodeURL(simulator.url)!, maxParallel: 2, vramGB: spec.vramGB, maxLoadedModels: spec.maxLoaded)
        }
        return config
    }

    func run(logger: Logger) async -> Int32 {
        let farm: [OllamaSimulator]
        do { farm = try Self.startFarm() } catch {
            logger.error("demo: cannot start the simulated nodes: \(error)")
            return 1
        }
        let gateway = Gateway(config: config(for: farm), logger: logger)
        let bound: Int
        do { bound = try await gateway.start() } catch {
            logger.error("demo: cannot listen on 127.0.0.1:\(port): \(error) (try --port 0)")
            for node in farm { node.stop() }
            return 1
        }
        print(Self.banner(port: bound))
        fflush(nil)
        let shutdown = ShutdownRequest()
        let signals = SignalService(logger: logger, shutdown: shutdown, reload: {})
        let traffic = TrafficGenerator(port: bound, key: Self.key, rate: rate, models: Self.models.map(\.name))
        let timed = DemoTraffic(traffic: traffic, duration: duration, shutdown: shutdown)
        await gateway.serve(until: shutdown, alongside: [signals, timed])
        for node in farm { node.stop() }
        return 0
    }

    static func banner(port: Int) -> String {
        let base = "http://127.0.0.1:\(port)"
        return """

            TensorWall demo: 3 simulated Ollama nodes (8, 16 and 24 GB of VRAM), \(models.count) models, light traffic.

              status page   \(base)/status        (open it in a browser)
              metrics       \(base)/metrics
              live view     swift run -c release tensorwall top --url \(base) --key \(key)

              curl \(base)/v1/chat/completions -H 'X-API-Key: \(key)' -H 'Content-Type: application/json' \\
                -d '{"model": "llama3.2", "messages": [{"role": "user", "content": "Hello!"}]}'

              python3 -c 'from openai import OpenAI; c = OpenAI(base_url="\(base)/v1", api_key="\(key)"); \\
                print(c.chat.completions.create(model="llama3.2", messages=[{"role": "user", "content": "Hello!"}]).choices[0].message.content)'

            Ctrl-C stops everything.

            """
    }
}

/// The demo's clients: Poisson arrivals, Zipf popularity over the chat models, OpenAI and native
/// requests, some streamed, some continuing a conversation. Light on purpose: a busy-looking farm,
/// not a load test.
struct TrafficGenerator: Sendable {
    let port: Int
    let key: String
    let rate: Double
    let models: [String]

    func run(for duration: Double?) async {
        let client = HTTPClient()
        defer { client.shutdown() }
        var random = FastRandom()
        let weights = models.indices.map { 1 / pow(Double($0 + 1), 1.1) }
        let total = weights.reduce(0, +)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            var sent = 0
            while !Task.isCancelled {
                let gap = -log(1 - Double(random.next() >> 11) / Double(1 << 53)) / rate
                try? await Task.sleep(for: .milliseconds(Int64(gap * 1000)))
                if let duration, started.duration(to: .now) > .seconds(duration) { break }
                var ticket = Double(random.next() >> 11) / Double(1 << 53) * total
                var index = 0
                while index < weights.count - 1 && ticket >= weights[index] {
                    ticket -= weights[index]
                    index += 1
                }
                let model = models[index]
                let native = sent % 3 == 2
                let stream = sent % 2 == 0
                sent += 1
                let path = native ? "/api/chat" : "/v1/chat/completions"
                let body =
                    #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"Question \#(sent) for the demo"}]}"#
                group.addTask {
                    let request = HTTPClientRequest(
                        method: "POST", host: "127.0.0.1", port: port, target: path,
                        headers: ["X-API-Key": key, "Content-Type": "application/json"], body: Array(body.utf8))
                    if let response = try? await client.execute(
                        request, timeouts: HTTPClientTimeouts(connect: .seconds(2), responseHead: .seconds(120), idleRead: .seconds(60)))
                    {
                        _ = try? await response.collect()
                    }
                }
            }
        }
    }
}

/// The demo's traffic as a service: it runs for `duration` (forever when nil), then asks the demo to stop.
struct DemoTraffic: Service {
    let traffic: TrafficGenerator
    let duration: Double?
    let shutdown: ShutdownRequest

    func run() async {
        await traffic.run(for: duration)
        if !Task.isCancelled { shutdown.request(.drain) }
    }
}
