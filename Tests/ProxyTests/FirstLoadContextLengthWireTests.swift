import Balancer
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// A model's first loads are for the length that serves most of the farm's recent requests
/// (`ContextLengthTally.judged`): its own one or two requests say little of what its clients ask.
@Suite(.stopsFarms) struct FirstLoadContextLengthWireTests {
    @Test func aModelsFirstLoadIsForTheLengthTheFarmsRequestsAsk() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "phi3"])]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("llama3.2", contextLength: nil)).status == 200)
        #expect(await RunnerContextWireTests.statusShowsTheDefaultLength(farm, node: 0))
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("llama3.2", contextLength: 8192)).status == 200)
        // phi3's first request sets no length; the farm's are best served by 8192, which serves it too.
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat("phi3", contextLength: nil)).status == 200)
        #expect(farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"]?.intValue == 8192)
        #expect(await farm.nodes[0].runnerContextLength("phi3") == 8192)
    }
}
