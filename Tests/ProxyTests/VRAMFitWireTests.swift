import Balancer
import OllamaSimulator
import Testing

@testable import Proxy

/// Ollama loads a model beside others only into 80 % of the VRAM left free; past that it unloads one
/// of its own choosing (shortest keep-alive, then blob digest, not use). Over HTTP against a
/// simulated node that does both.
@Suite(.stopsFarms) struct VRAMFitWireTests {
    /// 6.4 GB of VRAM and three models of 2 GB. By the sum a third fits beside two (6 GB); by Ollama's
    /// rule it does not (2 GB is more than 80 % of the 2.4 GB free), and Ollama would unload `hot`,
    /// whose digest sorts first, though it is the model in use.
    static let tightNode = TestFarm.NodeSpec(
        models: ["hot", "cold", "big"], preload: ["hot", "cold"], vramGB: 6.4, loadFitShareOfFree: 0.8,
        evictionOrder: .shortestKeepAliveThenDigest)

    @Test func aLoadBesideOthersMakesRoomByOllamasShareOfFreeVRAM() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([Self.tightNode], logs: logs)
        try await farm.waitUntilAllHealthy()
        for _ in 0..<4 { #expect(try await farm.chat("hot").status == 200) }
        #expect(try await farm.chat("big").status == 200)
        // TensorWall unloaded the idle model nobody asked for itself (Ollama's empty generate, keep_alive 0).
        #expect(farm.nodes[0].requestCount("/api/generate") == 1, "\(logs.text)")
        #expect(farm.nodes[0].lastBody("/api/generate")?["model"]?.stringValue == "cold:latest")
        #expect(await farm.nodes[0].loadedModelNames() == ["big:latest", "hot:latest"])
        #expect(await farm.nodes[0].evictionCount() == 0)  // Ollama unloaded nothing of its own choosing
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["vramLoadFit"]?.stringValue == "shareOfFree")
    }
}
