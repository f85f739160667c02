import Balancer
import OllamaSimulator
import Testing

@testable import Proxy

/// A loaded model takes more VRAM than its weights on disk (`/api/ps` `size` counts the KV cache and
/// graph); TensorWall makes room by what a runner takes, over HTTP against a simulated node.
@Suite(.stopsFarms) struct RunnerSizeWireTests {
    @Test func aColdLoadMakesRoomByWhatRunnersTakeNotByTheirWeights() async throws {
        // 8 GB of VRAM; three models of 2 GB on disk that take 3 GB loaded. By their weights a third fits
        // beside two (6 + 2 GB); loaded it does not (6 + 3 GB). TensorWall unloads the model not asked
        // for itself (Ollama's empty generate with keep_alive 0) rather than leave the choice to Ollama.
        let spec = TestFarm.NodeSpec(models: ["a", "b", "c"], preload: ["a", "b"], vramGB: 8, runnerOverheadGB: 1)
        let logs = LogCapture()
        let farm = try await TestFarm.start([spec], logs: logs)
        try await farm.waitUntilAllHealthy()
        for _ in 0..<4 { #expect(try await farm.chat("a").status == 200) }
        #expect(farm.nodes[0].requestCount("/api/generate") == 0)
        #expect(try await farm.chat("c").status == 200)
        #expect(farm.nodes[0].requestCount("/api/generate") == 1, "\(logs.text)")
        #expect(farm.nodes[0].lastBody("/api/generate")?["model"]?.stringValue == "b:latest")
        #expect(await farm.nodes[0].loadedModelNames() == ["a:latest", "c:latest"])
        let node = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(node?["runnerOverheadBytes"]?.intValue == 1_000_000_000)
        #expect(node?["vramPlannableBytes"]?.intValue == 8_000_000_000)
        // TensorWall's own view agrees once a probe has seen the node after the load.
        #expect(
            await farm.eventually {
                let status = try? await farm.json("GET", "/status").body
                return status?["nodes"]?[0]?["loadedModels"]?.arrayValue?.count == 2
            })
    }
}
