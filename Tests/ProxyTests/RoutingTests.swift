import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// Placement as seen on the wire: which simulated node each request reached.
@Suite(.stopsFarms) struct RoutingTests {
    @Test func requestsGoToTheNodeThatHasTheModelLoaded() async throws {
        let farm = try await TestFarm.start([.init(), .init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<8 {
            let answer = try await farm.chat()
            #expect(answer.status == 200)
        }
        #expect(farm.nodes[1].requestCount("/api/chat") == 8)
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
        #expect(await farm.nodes[0].loadCount() == 0)
    }

    @Test func aWarmNodeWithoutAFreeSlotIsPassedOver() async throws {
        let farm = try await TestFarm.start([.init(), .init(preload: ["llama3.2"], maxParallel: 1)])
        try await farm.waitUntilAllHealthy()
        farm.nodes[1].holdStreams(true)
        let held = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        var events = EventReader(held)
        _ = try await events.next()  // the warm node is now busy with its one slot
        #expect(farm.nodes[1].requestCount("/api/chat") == 1)

        let answer = try await farm.chat()
        #expect(answer.status == 200)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 1)

        farm.nodes[1].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func aStoppedNodeGetsNoTrafficAndNoRequestFails() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].stop()
        // Requests sent before the probes notice are retried on the other node, not failed.
        for _ in 0..<6 { #expect(try await farm.chat().status == 200) }
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        for _ in 0..<10 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[1].requestCount("/api/chat") == 16)
    }

    @Test func aHungNodeIsTakenOutOfServiceWithinTwoIntervals() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init(preload: ["llama3.2"])], intervalMs: 100)
        try await farm.waitUntilAllHealthy()
        let probesBefore = farm.nodes[0].requestCount("/api/tags")
        farm.nodes[0].setFault(.hang)
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        // Out of service after the second probe that hung, i.e. within two probe intervals (counted, not timed).
        #expect(farm.nodes[0].requestCount("/api/tags") - probesBefore <= 2)
        let before = farm.nodes[0].requestCount("/api/chat")
        for _ in 0..<10 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") == before)
        farm.nodes[0].setFault(.none)
    }

    /// A request already waiting on a node when it hangs is not left to the head timeout (here ten
    /// minutes, past the test's limit): once the probes take the node out, it goes to another node.
    /// No hedge can free it: that needs a warm slot elsewhere, and node1 has the model cold. With
    /// hedging on and its timer as far off, the wait for the hedge asks whether the node is in
    /// service too, instead of waiting out the timer in one piece.
    @Test(.timeLimit(.minutes(1)), arguments: [0, 600_000])
    func aRequestWaitingOnANodeThatHangsMovesOnWhenTheNodeIsTakenOut(hedgeAfterMs: Int) async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()], intervalMs: 100) { config in
            config.timeouts.firstByteMs = 600_000
            config.timeouts.hedgeAfterMs = hedgeAfterMs
        }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.hang)
        let answer = try await farm.chat()
        #expect(answer.status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == 1)  // sent to the warm node first
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
        #expect(await farm.health(of: 0) == .unhealthy)
        farm.nodes[0].setFault(.none)
    }

    @Test func aNodeThatComesBackIsUsedAgain() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "mistral"]), .init()])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        #expect(try await farm.chat("mistral").status == 503)
        try farm.nodes[0].start()
        #expect(await farm.eventually { await farm.health(of: 0) == .healthy })
        #expect(try await farm.chat("mistral").status == 200)
    }

    @Test func aNodeAnswering500IsRetriedElsewhere() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.error500)
        let answer = try await farm.chat()
        #expect(answer.status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == 1)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
    }

    @Test func ollamaPrefixAndBareNamesResolveAlike() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "myteam/coding-assistant:7b"])])
        try await farm.waitUntilAllHealthy()
        for model in ["ollama/llama3.2", "llama3.2", "Llama3.2:latest", "ollama/myteam/coding-assistant:7b"] {
            let answer = try await farm.chat(model)
            #expect(answer.status == 200, "\(model)")
            #expect(answer.body["model"]?.stringValue == String(model.trimmingPrefix("ollama/")))
        }
    }

    @Test func clientDisconnectCancelsTheUpstreamAndFreesTheSlot() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        let response = try await farm.request(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        var events = EventReader(response)
        _ = try await events.next()
        #expect(await farm.nodes[0].activeRequests("llama3.2") == 1)
        #expect(await farm.gateway.cluster.nodes[0].snapshot(index: 0).totalInFlight == 1)
        response.close()
        #expect(await farm.eventually { await farm.nodes[0].activeRequests("llama3.2") == 0 })
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[0].snapshot(index: 0).totalInFlight == 0 })
        farm.nodes[0].holdStreams(false)
    }

    @Test func onlyUnhealthyHoldersGive503WithRetryAfter() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.health(of: 0) == .unhealthy })
        let answer = try await farm.json(
            "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"x"}]}"#)
        #expect(answer.status == 503)
        #expect(answer.headers["Retry-After"] != nil)
        #expect(answer.body["error"]?["type"]?.stringValue == "api_error")
    }
}
