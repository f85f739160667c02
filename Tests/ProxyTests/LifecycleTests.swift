import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// SIGTERM's drain: no new connections, requests in flight finish, a deadline bounds the wait.
@Suite(.stopsFarms) struct LifecycleTests {
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    @Test func drainingLetsAStreamInFlightFinishAndRefusesNewConnections() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
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

@Suite(.stopsFarms) struct ReloadTests {
    @Test func aReloadSwapsNodesAndKeysWithoutDroppingAStreamInFlight() async throws {
        var extraConfiguration = SimulatorConfiguration(name: "extra", models: [SimulatedModel("mistral", sizeGB: 2)])
        extraConfiguration.timeScale = 0.001
        extraConfiguration.tokensPerSecond = 1000
        let extra = OllamaSimulator(extraConfiguration)  // runs, but is not in the first config
        try extra.start()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        Teardown.add { extra.stop() }
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

/// A reload keeps what TensorWall knows about every node whose name and URL stay: slots in flight,
/// learned times and ejections. Before, a reload built new node actors, so a busy GPU looked idle.
@Suite(.stopsFarms) struct ReloadKeepsNodeStateTests {
    static let streamingChat = LifecycleTests.streamingChat

    @Test func aNodeWithOneFreeSlotGetsOneRequestRightAfterAReload() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 2)])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        var first = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await first.next()  // one slot of two is taken

        await farm.gateway.reload(farm.gateway.config)  // an unchanged file
        let model = try #require(ModelName("llama3.2"))
        #expect(await farm.gateway.cluster.nodes[0].snapshot(index: 0).inFlight(model) == 1)

        async let second = farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        async let third = farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        // The free slot takes one; the other must queue in TensorWall, not land on the full node.
        let settled = await farm.eventually {
            farm.gateway.cluster.queuedRequests(model) == 1 && farm.nodes[0].requestCount("/api/chat") == 2
        }
        #expect(settled)
        #expect(await farm.gateway.cluster.nodes[0].snapshot(index: 0).inFlight(model) == 2)

        farm.nodes[0].holdStreams(false)
        for response in [try await second, try await third] {
            var events = EventReader(response)
            var last: String?
            while let event = try await events.next() { last = event }
            #expect(last == "[DONE]")
        }
        var last: String?
        while let event = try await first.next() { last = event }
        #expect(last == "[DONE]")  // the stream that ran across the reload finished
        let drained = await farm.eventually { await farm.gateway.cluster.nodes[0].snapshot(index: 0).inFlight(model) == 0 }
        #expect(drained)  // and gave its slot back to the same node
    }

    @Test func anEditedFileKeepsLearnedTimesAndEjectionsOfUnchangedNodes() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm]) { $0.outlier.consecutiveFailures = 1 }
        try await farm.waitUntilAllHealthy()
        let model = try #require(ModelName("llama3.2"))
        farm.nodes[1].setFault(.error500)
        var sent = 0
        while farm.gateway.cluster.passiveHealth("node1").ejectedUntil == nil && sent < 50 {
            #expect(try await farm.chat().status == 200)  // node1's failure is retried on node0
            sent += 1
        }
        #expect(farm.gateway.cluster.passiveHealth("node1").ejectedUntil != nil)
        let node0 = farm.gateway.cluster.nodes[0]
        // A request's service time is learned as its answer settles, just after the client has it:
        // once nothing is in flight there, every answer has settled (one more settling after the
        // read changed the time under the test once).
        #expect(
            await farm.eventually {
                let settled = await node0.snapshot(index: 0)
                return settled.serviceSeconds[model] != nil && settled.inFlight(model) == 0
            })
        let learned = try #require(await node0.snapshot(index: 0).serviceSeconds[model])

        var edited = farm.gateway.config
        edited.nodes[0].weight = 300
        edited.nodes.reverse()  // the order changes too: identity is the name, not the position
        await farm.gateway.reload(edited)

        let after = farm.gateway.cluster
        #expect(after.nodes.map(\.id) == ["node1", "node0"])
        #expect(after.node("node0") === node0)
        let snapshot = await node0.snapshot(index: 1)
        #expect(snapshot.serviceSeconds[model] == learned)
        #expect(snapshot.weight == 300)
        #expect(after.passiveHealth("node1").ejectedUntil != nil)  // still ejected
        #expect(after.passiveHealth("node0").ejectedUntil == nil)
        let status = try await farm.json("GET", "/status").body
        #expect(status["nodes"]?[0]?["name"] == "node1")
        #expect(status["nodes"]?[0]?["ejectedForSeconds"]?.doubleValue ?? 0 > 0)
        // While node1 is ejected every request goes to node0.
        let before = farm.nodes[1].requestCount("/api/chat")
        for _ in 0..<5 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[1].requestCount("/api/chat") == before)
    }

    @Test func aNodeMovedToAnotherURLStartsUnknownAndARemovedOneGetsNoRequests() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm])
        try await farm.waitUntilAllHealthy()
        let old = farm.gateway.cluster.nodes
        var edited = farm.gateway.config
        edited.nodes[0].url = edited.nodes[1].url  // node0 now names node1's server
        edited.nodes.remove(at: 1)
        await farm.gateway.reload(edited)

        let after = farm.gateway.cluster.nodes
        #expect(after.count == 1)
        #expect(after[0] !== old[0])  // a new node: nothing learned about the old server applies
        #expect(await after[0].snapshot(index: 0).health == .healthy)  // probed before the reload returned
        farm.nodes[0].resetCounts()
        for _ in 0..<5 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
        #expect(farm.nodes[1].requestCount("/api/chat") == 5)
    }
}
