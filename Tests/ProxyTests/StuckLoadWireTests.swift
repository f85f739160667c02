import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Ollama's scheduler can hang on a load while its loaded models answer and every probe passes
/// (ollama/ollama issue 17408). TensorWall gives such a load up (`StuckLoadWatch`), serves the request
/// elsewhere, and sends the node no more loads.
@Suite(.stopsFarms) struct StuckLoadWireTests {
    @Test func aLoadThatNeverEndsIsGivenUpAndTheRequestServedElsewhere() async throws {
        let logs = LogCapture()
        // Farm time runs 20 times faster than real time here: a 2 GB load predicted at about 3 s is
        // taken for stuck after (2 x 3 s + 0.5 s) / 20, 325 ms. (At 100 times, 65 ms, a host busy
        // with the whole suite once stalled the healthy node's load past it too: 502.)
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.2", "phi3"], preload: ["phi3"], priority: 0), .init(models: ["llama3.2", "phi3"], priority: 1)],
            environment: ["TENSORWALL_TIME_SCALE": "0.05"], logs: logs
        ) { $0.timeouts.stuckLoadMs = 500 }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.loadsHang)
        let answer = try await farm.chat("llama3.2")
        #expect(answer.status == 200)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
        #expect(logs.text.contains("node node0 has not finished loading llama3.2:latest"))
        let status = try await farm.json("GET", "/status").body
        #expect(status["nodes"]?[0]?["loadsLookStuck"] == true)
        #expect(status["nodes"]?[1]?["loadsLookStuck"] == false)
        // Prometheus can alert on it.
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(metrics.contains(#"tensorwall_node_loads_stuck{node="node0"} 1"#))
        #expect(metrics.contains(#"tensorwall_node_loads_stuck{node="node1"} 0"#))
        // The node is still in service, and serves the model it has loaded.
        #expect(await farm.health(of: 0) == .healthy)
        let sentBefore = farm.nodes[0].requestCount("/api/chat")
        #expect(try await farm.chat("phi3").status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == sentBefore + 1)
        // No load goes there while it looks stuck.
        #expect(try await farm.chat("llama3.2").status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == sentBefore + 1)
    }

    /// An embedding has no load-only form: its own request loads the model, and is watched the same way.
    @Test func anEmbeddingsOwnLoadIsWatchedToo() async throws {
        let farm = try await TestFarm.start(
            [.init(priority: 0), .init(priority: 1)], environment: ["TENSORWALL_TIME_SCALE": "0.05"]
        ) { $0.timeouts.stuckLoadMs = 500 }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.loadsHang)
        let answer = try await farm.json("POST", "/api/embed", body: #"{"model":"llama3.2","input":"hi"}"#)
        #expect(answer.status == 200)
        #expect(farm.nodes[1].requestCount("/api/embed") == 1)
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["loadsLookStuck"] == true)
    }
}
