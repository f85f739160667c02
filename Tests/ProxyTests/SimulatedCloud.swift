import Balancer
import OllamaSimulator

/// A "cloud" for route tests: a simulated node's OpenAI-compatible endpoint on loopback, serving
/// gpt-4 (URLSession cannot be told to trust a self-signed certificate, so it speaks plain HTTP).
/// Stopped by the test's teardown.
struct SimulatedCloud {
    let simulator: OllamaSimulator
    let port: Int

    static func start() async throws -> SimulatedCloud {
        var configuration = SimulatorConfiguration(name: "cloud", models: [SimulatedModel("gpt-4", sizeGB: 1)])
        configuration.timeScale = 0.001
        configuration.tokensPerSecond = 1000
        let simulator = OllamaSimulator(configuration)
        let port = try simulator.start()
        Teardown.add { simulator.stop() }
        await simulator.preload("gpt-4")
        return SimulatedCloud(simulator: simulator, port: port)
    }

    /// The endpoint as `cluster.json` names it, its key read from `TEST_CLOUD_KEY`, at priority 1.
    var endpoint: ClusterConfig.CloudEndpoint {
        ClusterConfig.CloudEndpoint(
            name: "openai", url: "http://127.0.0.1:\(port)/v1", apiKeyEnv: "TEST_CLOUD_KEY", models: ["gpt-4"], weight: 100, priority: 1)
    }
}

extension SimulatedCloud {
    /// A farm of one node holding `llama3.2`, with this cloud as its endpoint (its key `key`) and two
    /// routes: `cloudOnly`, to the cloud alone, and `hybrid`, to `mistral` (which no node has
    /// pulled) and then the cloud.
    func farm(cloudOnly: String, key: String, logs: LogCapture? = nil) async throws -> TestFarm {
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.2"], preload: ["llama3.2"])], environment: ["TEST_CLOUD_KEY": key], logs: logs
        ) {
            config in
            config.cloud = [endpoint]
            config.routes = [
                cloudOnly: [.init(target: "openai/gpt-4", weight: 100, priority: 0)],
                "hybrid": [
                    .init(target: "ollama/mistral", weight: 100, priority: 0), .init(target: "openai/gpt-4", weight: 100, priority: 1),
                ],
            ]
        }
        try await farm.waitUntilAllHealthy()
        return farm
    }
}
