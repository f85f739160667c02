import Balancer
import Testing
import WireFormats

@testable import Proxy

/// A model made from another shares its runner in Ollama (one runner per weights file): TensorWall
/// places the two as one model (`SharedRunners`).
@Suite(.stopsFarms) struct SharedRunnerWireTests {
    /// node0 holds llama3.2 warm in 3 GB: a second 2 GB runner would not fit beside it, so placed as a
    /// model of its own, the custom model went to node1 for a cold load that Ollama never needed.
    @Test func aCustomModelRidesItsBasesWarmRunner() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], vramGB: 3), .init(vramGB: 16)])
        try await farm.waitUntilAllHealthy()
        let created = try await farm.json(
            "POST", "/api/create", body: #"{"model":"coding-assistant","from":"llama3.2","system":"You write code.","stream":false}"#)
        #expect(created.status == 200)
        #expect(try await farm.chat("llama3.2").status == 200)
        // Once TensorWall has read both models' /api/show, the base's entry names the model made from it.
        #expect(
            await farm.eventually {
                let models = (try? await farm.json("GET", "/status").body["models"]?.arrayValue) ?? []
                let base = models.first { $0["name"] == "llama3.2:latest" }
                return base?["runnerAlsoServes"]?.arrayValue == ["coding-assistant:latest"]
            })
        for _ in 0..<3 { #expect(try await farm.chat("ollama/coding-assistant").status == 200) }
        #expect(await farm.nodes[1].loadCount() == 0)
        #expect(await farm.nodes[0].loadCount() == 1)
        #expect(farm.nodes[1].requestCount("/api/chat") + farm.nodes[1].requestCount("/v1/chat/completions") == 0)
        // Probed again, the runner is the base's, once: no second runner's VRAM or place is counted.
        await farm.gateway.monitor.probeAll()
        let node0 = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(node0?["loadedModels"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["llama3.2:latest"])
    }

    /// On a cold farm the runner is listed under the name that loaded it: a request for the base then
    /// rides it too. The planner may fill the idle node's free room with a copy ahead of requests;
    /// what counts is that no request starts a load (the planner did so in one run of 40 under CPU
    /// load, and a count of every load failed).
    @Test func aRunnerLoadedForEitherNameServesBoth() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(vramGB: 16), .init(vramGB: 16)], logs: logs)
        try await farm.waitUntilAllHealthy()
        let created = try await farm.json(
            "POST", "/api/create", body: #"{"model":"coding-assistant","from":"llama3.2","stream":false}"#)
        #expect(created.status == 200)
        // Learned before the create's answer: the first request for it is placed knowing its runner.
        #expect(farm.gateway.cluster.runnerModel(ModelName("coding-assistant")!) == ModelName("llama3.2")!)
        #expect(try await farm.chat("coding-assistant").status == 200)
        await farm.gateway.monitor.probeAll()
        for _ in 0..<3 { #expect(try await farm.chat("llama3.2").status == 200) }
        let loadsForRequests = logs.text.split(separator: "\n").filter { $0.contains("cold-loading") }
        #expect(loadsForRequests.count == 1, "\(loadsForRequests)")
        #expect(loadsForRequests.first?.contains("for a request") == true)
    }
}
