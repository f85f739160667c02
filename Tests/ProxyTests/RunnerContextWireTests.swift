import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Ollama reloads a loaded runner for a request with another `options.num_ctx` (`needsReload`):
/// TensorWall sends each request to a runner loaded for its context length, and loads another copy
/// elsewhere rather than reload one that serves other clients (`RunnerContexts`).
@Suite(.stopsFarms) struct RunnerContextWireTests {
    static func chat(_ model: String = "llama3.2", contextLength: Int?) -> String {
        let options = contextLength.map { #","options":{"num_ctx":\#($0)}"# } ?? ""
        return #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}],"stream":false\#(options)}"#
    }

    /// Whether `/status` comes to show the first model loaded on `node` with the simulator's default
    /// context length, 4096: a probe has seen the runner.
    static func statusShowsTheDefaultLength(_ farm: TestFarm, node: Int) async -> Bool {
        await farm.eventually {
            let status = try? await farm.json("GET", "/status").body
            return status?["nodes"]?[node]?["loadedModels"]?[0]?["contextLength"]?.intValue == 4096
        }
    }

    static func loads(_ farm: TestFarm) async -> Int {
        var total = 0
        for node in farm.nodes { total += await node.loadCount() }
        return total
    }

    @Test func clientsAskingDifferentContextLengthsEachKeepARunnerInsteadOfReloadingOne() async throws {
        let farm = try await TestFarm.start([.init(), .init()])
        try await farm.waitUntilAllHealthy()
        // 2048 is shorter than the automatic 4096: a runner for it cannot serve the requests that set none.
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 2048)).status == 200)
        // Each asked length now has a runner of its own, on its own node.
        let lengths = [await farm.nodes[0].runnerContextLength("llama3.2"), await farm.nodes[1].runnerContextLength("llama3.2")]
        #expect(Set(lengths) == [4096, 2048])
        for _ in 0..<3 {
            #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
            #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 2048)).status == 200)
        }
        // Placed by name alone, every second request reloaded the warm copy: eight loads.
        #expect(await Self.loads(farm) == 2)
        let defaultNode = lengths[0] == 4096 ? 0 : 1
        #expect(farm.nodes[defaultNode].answeredCount("/api/chat") == 4)
        #expect(farm.nodes[1 - defaultNode].answeredCount("/api/chat") == 4)
        // An explicit num_ctx equal to the node's default is the same runner, once a probe has shown
        // the runner's `context_length`.
        #expect(await Self.statusShowsTheDefaultLength(farm, node: defaultNode))
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 4096)).status == 200)
        #expect(farm.nodes[defaultNode].answeredCount("/api/chat") == 5)
        #expect(await Self.loads(farm) == 2)
    }

    /// A request asking a longer length than any runner serves reloads an idle copy in place rather
    /// than unload a model in demand on another node: the reloaded runner serves the requests that
    /// set none too.
    @Test func anIdleCopyIsReloadedInPlaceRatherThanAModelInDemandUnloaded() async throws {
        // node1 has room for one model, and holds phi3, which its clients use.
        let farm = try await TestFarm.start([
            .init(), .init(models: ["llama3.2", "phi3"], preload: ["phi3"], vramGB: 3),
        ])
        try await farm.waitUntilAllHealthy()
        let phi3 = #"{"model":"phi3","messages":[{"role":"user","content":"hi"}],"stream":false}"#
        for _ in 0..<6 { #expect(try await farm.json("POST", "/api/chat", body: phi3).status == 200) }
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
        #expect(await farm.nodes[0].loadCount() == 1)
        #expect(await Self.statusShowsTheDefaultLength(farm, node: 0))
        let node1Loads = await farm.nodes[1].loadCount()
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        // Loaded on node1, llama3.2 would have unloaded phi3 there.
        #expect(await farm.nodes[1].loadCount() == node1Loads)
        #expect(await farm.nodes[0].loadCount() == 2)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 8192)
        for _ in 0..<3 {
            #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
            #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        }
        #expect(await Self.loads(farm) == 2 + node1Loads)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 8)
        #expect(await farm.nodes[1].runnerContextLength("phi3") != nil)
    }

    @Test func aRunnerLoadedBeforeTensorWallStartedIsKnownByWhatTheProbeShows() async throws {
        // node0 holds a runner loaded with the default length; a request asking 8192 goes to node1.
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()])
        try await farm.waitUntilAllHealthy()
        #expect(await Self.statusShowsTheDefaultLength(farm, node: 0))
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 4096)
        #expect(await farm.nodes[1].runnerContextLength("llama3.2") == 8192)
    }

    @Test func withNoOtherNodeTheRequestIsServedByAReload() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 8192)
        #expect(await farm.nodes[0].loadCount() == 2)
        // Placement now knows the runner serves 8192: a request asking it again is warm.
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        #expect(await farm.nodes[0].loadCount() == 2)
    }

    /// A request that sets no `num_ctx` goes to a runner loaded for a longer one with that length,
    /// its other options kept: sent as it came, Ollama would reload the runner for its default.
    @Test func aRequestWithoutALengthRidesTheRunnerLoadedForALongerOne() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
        // A probe shows the node's automatic length, 4096.
        #expect(await Self.statusShowsTheDefaultLength(farm, node: 0))
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        #expect(await farm.nodes[0].loadCount() == 2)
        let plain = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"temperature":0.2}}"#
        #expect(try await farm.json("POST", "/api/chat", body: plain).status == 200)
        let sentPlain = farm.nodes[0].lastBody("/api/chat")?["options"]
        #expect(sentPlain?["num_ctx"]?.intValue == 8192)
        #expect(sentPlain?["temperature"]?.doubleValue == 0.2)
        let openAI = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
        #expect(try await farm.json("POST", "/v1/chat/completions", body: openAI).status == 200)
        // Sent as they came, each reloaded the runner: four loads.
        #expect(await farm.nodes[0].loadCount() == 2)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 8192)
        #expect(farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"]?.intValue == 8192)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 4)
        // A length the client asked is never changed: a shorter one reloads the runner.
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 2048)).status == 200)
        #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 2048)
        #expect(farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"]?.intValue == 2048)
    }

    /// Under `numCtx: atLeast` an explicit ask rides a runner loaded for a longer length, sent with
    /// that length; under Ollama's own rule (the default) it reloads the runner.
    @Test(arguments: [ClusterConfig.NumCtxPolicy.exact, .atLeast])
    func aShorterExplicitAskRidesALongerRunnerOnlyUnderAtLeast(policy: ClusterConfig.NumCtxPolicy) async throws {
        let farm = try await TestFarm.start([.init()]) { $0.numCtx = policy }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: nil)).status == 200)
        #expect(await Self.statusShowsTheDefaultLength(farm, node: 0))
        // LlamaIndex's default context window.
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 3900)).status == 200)
        let sent = farm.nodes[0].lastBody("/api/chat")?["options"]?["num_ctx"]?.intValue
        if policy == .atLeast {
            #expect(sent == 4096)
            #expect(await farm.nodes[0].loadCount() == 1)
            #expect(await farm.nodes[0].runnerContextLength("llama3.2") == 4096)
        } else {
            #expect(sent == 3900)
            #expect(await farm.nodes[0].loadCount() == 2)
        }
    }

    /// A copy loaded ahead of requests is loaded for the length they ask: loaded for the default, the
    /// first request would reload it.
    @Test func aLoadAheadOfRequestsIsForTheContextLengthTheyAsk() async throws {
        let farm = try await TestFarm.start([.init(), .init()]) { $0.replicate = false }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: Self.chat(contextLength: 8192)).status == 200)
        let idle = await farm.nodes[0].loadCount() == 0 ? 0 : 1
        let snapshot = try #require(await farm.gateway.cluster.snapshots().first { $0.name == "node\(idle)" })
        let preloader = Preloader(
            cluster: farm.gateway.cluster, client: farm.gateway.client, timeouts: farm.gateway.upstreamTimeouts,
            logger: Logger(minimum: .error), loads: farm.gateway.loads)
        #expect(await preloader.start(ModelName("llama3.2")!, on: snapshot, keepAlive: nil, reason: "a test"))
        #expect(await farm.eventually { await farm.nodes[idle].runnerContextLength("llama3.2") == 8192 })
        #expect(farm.nodes[idle].lastBody("/api/generate")?["options"]?["num_ctx"]?.intValue == 8192)
    }
}
