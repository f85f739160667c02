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

    @Test func aFailureRetriedElsewhereIsLoggedInWords() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"], weight: 100), .init(preload: ["llama3.2"], weight: 1)], intervalMs: 60_000, logs: logs
        ) { config in config.outlier.consecutiveFailures = 1000 }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.error500)
        for _ in 0..<5 { #expect(try await farm.chat().status == 200) }
        let line = logs.text.split(separator: "\n").first { $0.contains("before the first byte") }.map(String.init) ?? ""
        #expect(line.contains("failed llama3.2:latest before the first byte: 500 model runner has unexpectedly stopped"), "\(logs.text)")
        #expect(!line.contains("status("), "the failure in words, not Swift's spelling of it")
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
            config.timeouts.firstByteMs = 120_000  // without a hedge the client (60 s) gives up first
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

    @Test func aClientLeavingTheQueueIsNotARefusal() async throws {
        // The only slot holds a streamed answer, so the next request waits in TensorWall's queue; its
        // client gives up there. The farm turned nothing away: no refusal in the log or in /metrics,
        // and the access log shows a client that left (499), not a 503.
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1)], intervalMs: 60_000, logs: logs)
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        var held = EventReader(
            try await farm.request(
                "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#))
        _ = try await held.next()
        let impatient = HTTPClient()
        defer { impatient.shutdown() }
        let request = HTTPClientRequest(
            method: "POST", host: "127.0.0.1", port: farm.port, target: "/api/chat",
            headers: ["X-API-Key": TestFarm.key, "Content-Type": "application/json"],
            body: Array(#"{"model":"llama3.2","messages":[{"role":"user","content":"bye"}],"stream":false}"#.utf8))
        let gaveUp = try? await impatient.execute(
            request, timeouts: HTTPClientTimeouts(connect: .seconds(2), responseHead: .milliseconds(300), idleRead: .seconds(1)))
        #expect(gaveUp == nil)
        #expect(await farm.eventually { logs.text.contains("status=499") }, "\(logs.text)")
        farm.nodes[0].holdStreams(false)
        while try await held.next() != nil {}
        #expect(!logs.text.contains("turned away"), "\(logs.text)")
        #expect(!logs.text.contains("status=503"), "\(logs.text)")
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(!metrics.contains(#"reason="queue_timeout""#))
    }

    @Test func aClientLeavingBeforeTheFirstByteFreesTheSlotAndKeepsServing() async throws {
        // A warm slot (so the request may be hedged) on a node that never answers; the client gives up first.
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], intervalMs: 60_000)
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.hang)
        let impatient = HTTPClient()
        defer { impatient.shutdown() }
        let body = Array(#"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}"#.utf8)
        for _ in 0..<3 {
            let request = HTTPClientRequest(
                method: "POST", host: "127.0.0.1", port: farm.port, target: "/api/chat",
                headers: ["X-API-Key": TestFarm.key, "Content-Type": "application/json"], body: body)
            let gaveUp = try? await impatient.execute(
                request, timeouts: HTTPClientTimeouts(connect: .seconds(2), responseHead: .milliseconds(150), idleRead: .seconds(1)))
            #expect(gaveUp == nil)
        }
        let model = try #require(ModelName("llama3.2"))
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[0].snapshot(index: 0).inFlight(model) == 0 })
        #expect(try await farm.text("GET", "/healthz", headers: [:]).status == 200)  // still serving
    }
}
