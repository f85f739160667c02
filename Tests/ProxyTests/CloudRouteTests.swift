import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// Routes and cloud fallback, with a `SimulatedCloud`.
@Suite(.stopsFarms) struct CloudRouteTests {
    static let secret = "sk-test-cloud-secret-1234567890"

    /// A farm node with llama3.1:70b, a cloud serving gpt-4, and the seed's hybrid route.
    func hybridFarm(logs: LogCapture? = nil, keySet: Bool = true, strategy: ClusterConfig.Strategy? = nil) async throws -> (
        TestFarm, OllamaSimulator
    ) {
        let cloud = try await SimulatedCloud.start()
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.1:70b"], preload: ["llama3.1:70b"])], environment: keySet ? ["TEST_CLOUD_KEY": Self.secret] : [:],
            logs: logs
        ) { config in
            config.cloud = [cloud.endpoint]
            config.routes = [
                "gpt-4": [
                    .init(target: "ollama/llama3.1:70b", weight: 80, priority: 0), .init(target: "openai/gpt-4", weight: 20, priority: 1),
                ]
            ]
            if let strategy { config.routeStrategies["gpt-4"] = strategy }
        }
        try await farm.waitUntilAllHealthy()
        return (farm, cloud.simulator)
    }

    @Test func theRouteIsServedByTheFarmWhilePriorityZeroCanServe() async throws {
        let (farm, cloud) = try await hybridFarm()
        for _ in 0..<5 { #expect(try await farm.chat("gpt-4").status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") == 5)
        #expect(farm.nodes[0].lastAnswerBody("/api/chat")?["model"] == "llama3.1:70b")
        #expect(cloud.requestCount("/v1/chat/completions") == 0)
    }

    @Test func priorityOneCloudServesWhenPriorityZeroCannot() async throws {
        let logs = LogCapture()
        let (farm, cloud) = try await hybridFarm(logs: logs)
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        let answer = try await farm.chat("gpt-4")
        #expect(answer.status == 200)
        #expect(answer.body["choices"]?[0]?["message"]?["content"]?.stringValue?.isEmpty == false)
        #expect(cloud.requestCount("/v1/chat/completions") == 1)
        #expect(cloud.lastBody("/v1/chat/completions")?["model"] == "gpt-4")
        #expect(cloud.lastAuthorization("/v1/chat/completions") == "Bearer \(Self.secret)")

        // Streaming passes through as the cloud sends it.
        let response = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        var events = EventReader(response)
        var payloads: [String] = []
        while let payload = try await events.next() { payloads.append(payload) }
        #expect(payloads.last == "[DONE]")
        #expect(payloads.count > 2)

        // The key never shows: not in /status, not in the log.
        let status = String(decoding: try await farm.request("GET", "/status").collect(), as: UTF8.self)
        #expect(!status.contains(Self.secret))
        #expect(!logs.text.contains(Self.secret))
        #expect(!logs.text.contains(TestFarm.key))
        #expect(await farm.eventually { logs.text.contains("node=cloud:openai") })  // logged after the last byte
    }

    @Test func requestsQueuedBeforeTheFirstAnswerTurnToTheCloudOnceItIsMeasured() async throws {
        // A warm copy no answer has been timed on, one request at a time, 0.8 s an answer; 12 sent at
        // once all queue unweighed (a guess must not refuse). Once the first answer is measured, those
        // past the 6.4 s refusal point of the 8 s maximum go to the route's cloud target then, not
        // after waiting the whole 8 s for the farm to time them out.
        let cloud = try await SimulatedCloud.start()
        let farm = try await TestFarm.start(
            [.init(models: ["llama3.1:70b"], preload: ["llama3.1:70b"], maxParallel: 1, tokensPerSecond: 0.01)],
            environment: ["TEST_CLOUD_KEY": Self.secret]
        ) { config in
            config.cloud = [cloud.endpoint]
            config.routes = [
                "gpt-4": [
                    .init(target: "ollama/llama3.1:70b", weight: 80, priority: 0), .init(target: "openai/gpt-4", weight: 20, priority: 1),
                ]
            ]
            config.queue.maxWaitMs = 8000
        }
        try await farm.waitUntilAllHealthy()
        let sent = ContinuousClock.now
        let answers = try await withThrowingTaskGroup(of: (status: Int, model: String?, after: Duration).self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let answer = try await farm.chat("gpt-4")
                    return (answer.status, answer.body["model"]?.stringValue, sent.duration(to: .now))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0.status == 200 })
        let fromCloud = answers.filter { $0.model == "gpt-4" }
        #expect(fromCloud.count >= 3, "\(answers)")
        #expect(fromCloud.allSatisfy { $0.after < .seconds(5) }, "\(answers)")
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == fromCloud.count)
    }

    @Test func aNodeFailingBeforeTheFirstByteFallsThroughToTheCloud() async throws {
        let (farm, cloud) = try await hybridFarm()
        farm.nodes[0].setFault(.error500)
        #expect(try await farm.chat("gpt-4").status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == 1)
        #expect(cloud.requestCount("/v1/chat/completions") == 1)
    }

    @Test func aMissingCloudKeyIsReportedByVariableName() async throws {
        let (farm, cloud) = try await hybridFarm(keySet: false)
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        let answer = try await farm.chat("gpt-4")
        #expect(answer.status == 503)
        #expect(answer.body["error"]?["message"]?.stringValue?.contains("TEST_CLOUD_KEY") == true)
        #expect(cloud.requestCount("/v1/chat/completions") == 0)
    }

    @Test func weightedSendsSomeTrafficToTheCloudEvenWhileTheFarmServes() async throws {
        let (farm, cloud) = try await hybridFarm(strategy: .weighted)
        for _ in 0..<60 { #expect(try await farm.chat("gpt-4").status == 200) }
        let toCloud = cloud.requestCount("/v1/chat/completions")
        #expect((3...25).contains(toCloud), "\(toCloud) of 60 went to the cloud; about 12 expected")
        #expect(farm.nodes[0].requestCount("/api/chat") == 60 - toCloud)
    }

    @Test func aCloudStreamCutMidWayEndsInAnErrorAndCountsAsFailed() async throws {
        let logs = LogCapture()
        let (farm, cloud) = try await hybridFarm(logs: logs)
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        cloud.setFault(.dropMidStream)
        let response = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        var events = EventReader(response)
        var payloads: [String] = []
        while let payload = try await events.next() { payloads.append(payload) }
        #expect(payloads.last?.contains("failed mid-stream") == true, "\(payloads)")
        #expect(!payloads.contains("[DONE]"))
        // The request's log line follows the last byte the client reads.
        #expect(await farm.eventually { logs.text.contains("node=cloud:openai status=502 cut_mid_stream=true") }, "\(logs.text)")
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(metrics.contains(#"tensorwall_request_errors_total{key="tests",model="gpt-4",node="cloud:openai"} 1"#), "\(metrics)")
    }
}
