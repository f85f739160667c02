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
