import Balancer
import HTTP1
import Testing

@testable import Proxy

/// A refused connection costs a request nothing, and a node that hangs after accepting a request
/// is hedged: neither may fail a request that a healthy holder of the model could serve.
@Suite(.stopsFarms) struct UpstreamFailureTests {
    @Test func aNodeRefusingConnectionsFailsNoRequest() async throws {
        let logs = LogCapture()
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        // Probes are slow to notice (a minute), ejection never fires and no retry is allowed: only
        // refusals being free and skipped at once can keep every request served.
        let farm = try await TestFarm.start([warm, warm, warm], intervalMs: 60_000, logs: logs) { config in
            config.maxRetries = 0
            config.outlier.consecutiveFailures = 1000
            config.outlier.maxEjectionPercent = 0
        }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].stop()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<30 {
                group.addTask {
                    index.isMultiple(of: 2)
                        ? try await farm.chat().status
                        : try await farm.text(
                            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
                        ).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 == 200 }, "\(results)")
        #expect(await farm.health(of: 0) == .healthy)  // probes have not noticed: passive health did the work
        #expect(logs.text.contains("node0 unreachable"))
    }

    @Test func everyHolderRefusingEndsWithAClearError() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm], intervalMs: 60_000)
        try await farm.waitUntilAllHealthy()
        for node in farm.nodes { node.stop() }
        let answer = try await farm.json("POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 502 || answer.status == 503)
        #expect(answer.body["error"]?.stringValue?.contains("unreachable") == true, "\(answer.body)")
    }

    @Test func aHungNodeIsHedgedOnAnotherHolder() async throws {
        let logs = LogCapture()
        // Both hold the model warm; node 0's weight makes placement send to it almost always (100:1).
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"], weight: 100), .init(preload: ["llama3.2"], weight: 1)], intervalMs: 60_000, logs: logs
        ) { config in
            config.timeouts.firstByteMs = 120_000  // without a hedge the client (10 s) gives up first
            config.timeouts.hedgeAfterMs = 300
        }
        try await farm.waitUntilAllHealthy()
        // Node 0 learns its service time (milliseconds here), so its first byte is overdue soon after
        // the hedge margin rather than after the 5 s default a node with no history is given.
        while farm.nodes[0].requestCount("/api/chat") < 2 { #expect(try await farm.chat().status == 200) }
        farm.nodes[0].setFault(.hang)
        for stream in [true, false] {
            let answer = try await farm.text(
                "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":\#(stream)}"#)
            #expect(answer.status == 200)
            #expect(answer.body.contains(#""done":true"#), "\(answer.body)")
        }
        #expect(farm.gateway.hedgesStarted.load(ordering: .relaxed) >= 1)
        #expect(farm.nodes[1].requestCount("/api/chat") >= 2)
        #expect(logs.text.contains("also sending it to node node1"))
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(metrics.contains("tensorwall_hedged_requests_total "))
    }
}
