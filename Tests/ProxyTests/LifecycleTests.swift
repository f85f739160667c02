import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// SIGTERM's drain: no new connections, requests in flight finish, a deadline bounds the wait.
@Suite struct LifecycleTests {
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    @Test func drainingLetsAStreamInFlightFinishAndRefusesNewConnections() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        defer { Task { await farm.stop() } }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        let drained = Task { await farm.gateway.drain() }
        #expect(
            await farm.eventually {
                let fresh = HTTPClient()
                defer { fresh.shutdown() }
                return (try? await fresh.execute(HTTPClientRequest(method: "GET", host: "127.0.0.1", port: farm.port, target: "/healthz")))
                    == nil
            })
        farm.nodes[0].holdStreams(false)
        var last: String?
        while let event = try await events.next() { last = event }
        #expect(last == "[DONE]")
        await drained.value
    }

    @Test func theDrainDeadlineBoundsTheWait() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.timeouts.drainMs = 100 }
        defer { Task { await farm.stop() } }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        let started = ContinuousClock.now
        await farm.gateway.drain()
        #expect(started.duration(to: .now) < .seconds(3))
        var sawDone = false
        while let event = try? await events.next() { if event == "[DONE]" { sawDone = true } }
        #expect(!sawDone)  // cut at the deadline
        farm.nodes[0].holdStreams(false)
    }
}

@Suite struct ReloadTests {
    @Test func aReloadSwapsNodesAndKeysWithoutDroppingAStreamInFlight() async throws {
        var extraConfiguration = SimulatorConfiguration(name: "extra", models: [SimulatedModel("mistral", sizeGB: 2)])
        extraConfiguration.timeScale = 0.001
        extraConfiguration.tokensPerSecond = 1000
        let extra = OllamaSimulator(extraConfiguration)  // runs, but is not in the first config
        try extra.start()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        defer {
            Task {
                await farm.stop()
                extra.stop()
            }
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat("mistral").status == 404)
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: LifecycleTests.streamingChat))
        _ = try await events.next()

        var next = farm.gateway.config
        next.nodes.append(ClusterConfig.NodeConfig(name: "node1", url: NodeURL(extra.url)!))
        next.apiKeys.append(.init(name: "new-team", key: "gw_new_team"))
        await farm.gateway.reload(next)

        let mistral = #"{"model":"mistral","messages":[{"role":"user","content":"hi"}]}"#
        let withNewKey = try await farm.json("POST", "/v1/chat/completions", body: mistral, headers: ["X-API-Key": "gw_new_team"])
        #expect(withNewKey.status == 200)
        farm.nodes[0].holdStreams(false)
        var last: String?
        while let event = try await events.next() { last = event }
        #expect(last == "[DONE]")  // the stream that started before the reload finished
    }
}
