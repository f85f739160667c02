import OllamaSimulator
import Testing
import WireFormats

@testable import Balancer
@testable import Proxy

/// A client that honours Retry-After finds its place kept: over HTTP, against a simulated node with
/// one slot and answers of 6.4 s (8 tokens at 0.00125 tokens/s, time scaled by 1/1000), a queue that
/// waits at most 12 s (refusing above 9.6 s). An answer measured up to 50 % slow on a busy host, as CI
/// measured one, changes nothing: one answer ahead is under the refusal point, two are over it. The
/// queued request waits for the test's own steps on top of an answer: 3.2 s answers and a 6 s limit
/// left too little room for them on a host with three CPU hogs beside the suite.
@Suite(.stopsFarms) struct RetryPromiseWireTests {
    static func chat(_ text: String, stream: Bool = false) -> String {
        #"{"model":"llama3.2","stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test func aNewArrivalIsRefusedInPlaceOfARefusedRequestThatComesBackAsTold() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, tokensPerSecond: 0.00125)]) {
            $0.queue = .init(maxLength: 8, maxWaitMs: 12_000)
        }
        try await farm.waitUntilAllHealthy()
        let measured = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("measure"))
        #expect(measured.status == 200, "\(measured.body)")
        let model = ModelName("llama3.2")!
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.chat("running", stream: true))
        var events = EventReader(held)
        _ = try await events.next()
        // One queues behind the running answer (6.4 s); the next would wait 12.8 s and is refused.
        async let queued = farm.json("POST", "/v1/chat/completions", body: Self.chat("queued"))
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(model) == 1 })
        let refused = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("told to come back"))
        #expect(refused.status == 429, "\(refused.body)")
        #expect(Int(refused.headers["Retry-After"] ?? "") ?? 0 >= 1)
        #expect(try await farm.json("GET", "/status").body["placesKeptForRetries"] == ["llama3.2:latest": 1])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        // The queued request now holds the slot and nobody is queued: a newcomer would wait one answer,
        // under the refusal point, but the place is kept for the refused request.
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(model) == 0 })
        let newcomer = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("newcomer"))
        #expect(newcomer.status == 429, "\(newcomer.body)")
        let retry = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("told to come back"))
        #expect(retry.status == 200, "\(retry.body)")
        #expect(try await farm.json("GET", "/status").body["placesKeptForRetries"] == [:])
        #expect(try await queued.status == 200)
    }
}

/// A request the farm refuses on a route with a cloud tier is served there: its client will not come
/// back, so no place is kept for it.
@Suite(.stopsFarms) struct RetryPromiseCloudTests {
    @Test func aRequestTheCloudServesAfterTheFarmRefusedItKeepsNoPlace() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await TestFarm.start(
            [.init(preload: ["llama3.2"], maxParallel: 1, tokensPerSecond: 0.00125)], environment: ["TEST_CLOUD_KEY": "sk-test"]
        ) { config in
            config.queue = .init(maxLength: 8, maxWaitMs: 12_000)
            config.cloud = [cloud.endpoint]
            config.routes = [
                "assistant": [
                    .init(target: "ollama/llama3.2", weight: 100, priority: 0), .init(target: "openai/gpt-4", weight: 100, priority: 1),
                ]
            ]
        }
        try await farm.waitUntilAllHealthy()
        let measured = try await farm.json("POST", "/v1/chat/completions", body: RetryPromiseWireTests.chat("measure"))
        #expect(measured.status == 200, "\(measured.body)")
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: RetryPromiseWireTests.chat("running", stream: true))
        var events = EventReader(held)
        _ = try await events.next()
        async let queued = farm.json("POST", "/v1/chat/completions", body: RetryPromiseWireTests.chat("queued"))
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        // Through the route: the farm would make it wait 12.8 s, over the 9.6 s refusal point; the cloud answers.
        let routed = try await farm.json(
            "POST", "/v1/chat/completions", body: #"{"model":"assistant","messages":[{"role":"user","content":"spilled"}]}"#)
        #expect(routed.status == 200, "\(routed.body)")
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 1)
        #expect(try await farm.json("GET", "/status").body["placesKeptForRetries"] == [:])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await queued.status == 200)
    }
}
