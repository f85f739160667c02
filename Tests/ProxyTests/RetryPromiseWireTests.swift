import Testing
import WireFormats

@testable import Balancer
@testable import Proxy

/// A client that honours Retry-After finds its place kept: over HTTP, against a simulated node with
/// one slot and answers of 2 s (8 tokens at 0.004 tokens/s, time scaled by 1/1000), a queue that
/// waits at most 3 s (refusing above 2.4 s). The times are long so a busy test host does not change the outcome.
@Suite(.stopsFarms) struct RetryPromiseWireTests {
    static func chat(_ text: String, stream: Bool = false) -> String {
        #"{"model":"llama3.2","stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test func aNewArrivalIsRefusedInPlaceOfARefusedRequestThatComesBackAsTold() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, tokensPerSecond: 0.004)]) {
            $0.queue = .init(maxLength: 8, maxWaitMs: 3000)
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/v1/chat/completions", body: Self.chat("measure")).status == 200)
        let model = ModelName("llama3.2")!
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.chat("running", stream: true))
        var events = EventReader(held)
        _ = try await events.next()
        // One queues behind the running answer (2 s); the next would wait 4 s and is refused.
        async let queued = farm.json("POST", "/v1/chat/completions", body: Self.chat("queued"))
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(model) == 1 })
        let refused = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("told to come back"))
        #expect(refused.status == 429)
        #expect(Int(refused.headers["Retry-After"] ?? "") ?? 0 >= 1)
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        // The queued request now holds the slot and nobody is queued: a newcomer would wait one answer,
        // under the refusal point, but the place is kept for the refused request.
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(model) == 0 })
        let newcomer = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("newcomer"))
        #expect(newcomer.status == 429, "\(newcomer.body)")
        let retry = try await farm.json("POST", "/v1/chat/completions", body: Self.chat("told to come back"))
        #expect(retry.status == 200, "\(retry.body)")
        #expect(try await queued.status == 200)
    }
}
