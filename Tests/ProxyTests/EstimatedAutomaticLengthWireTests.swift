import Balancer
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// A model's automatic context length worked out before any runner of it was loaded without
/// `num_ctx`: from the node's default, which another model's runner shows, and what `/api/show`
/// says of the model (`ModelContextFacts`).
@Suite(.stopsFarms) struct EstimatedAutomaticLengthWireTests {
    /// Loads `phi3` for a request that sets no length, so a probe shows the node's default, 4096,
    /// and waits for both models to be described; then loads `llama3.2` for 8192.
    static func farmWithALongRunner(modelfileLength: Int? = nil) async throws -> TestFarm {
        var spec = TestFarm.NodeSpec(models: ["llama3.2", "phi3"])
        if let modelfileLength { spec.modelfileContextLengths = ["llama3.2": modelfileLength] }
        let farm = try await TestFarm.start([spec]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("phi3", contextLength: nil)).status == 200)
        #expect(await RunnerContextWireTests.statusShowsTheDefaultLength(farm, node: 0))
        #expect(await farm.eventually { farm.nodes[0].answeredCount("/api/show") >= 2 })
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("llama3.2", contextLength: 8192)).status == 200)
        #expect(await farm.nodes[0].loadCount() == 2)
        return farm
    }

    @Test func aRequestWithoutALengthRidesALongerRunnerOfAModelNeverLoadedWithoutOne() async throws {
        let farm = try await Self.farmWithALongRunner()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("llama3.2", contextLength: nil)).status == 200)
        // llama3.2's own automatic length was never shown; phi3's runner shows the node's default.
        #expect(farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"]?.intValue == 8192)
        #expect(await farm.nodes[0].loadCount() == 2)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 8192)
    }

    /// A Modelfile that sets a longer `num_ctx` than the runner's: the request that sets none is
    /// loaded for the Modelfile's length, as Ollama would, never given the shorter runner.
    @Test func aModelfileLengthLongerThanTheRunnerIsNotRidden() async throws {
        let farm = try await Self.farmWithALongRunner(modelfileLength: 32768)
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("llama3.2", contextLength: nil)).status == 200)
        #expect(farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"] == nil)
        #expect(await farm.nodes[0].loadCount() == 3)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 32768)
    }
}
