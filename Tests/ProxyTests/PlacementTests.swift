import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Placement rules from the placement issue, shown over real HTTP against simulated nodes.
@Suite(.stopsFarms) struct PlacementTests {
    static let chat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    /// A node that throttles still passes its probes and still has free slots; only its answers show
    /// it. Both nodes idle, one request at a time: without the node's first-token time in the
    /// ranking the two tie and split the requests about evenly.
    @Test func aNodeWhoseAnswersStartSlowerLosesItsShareOfFreeSlots() async throws {
        // A token is 1 s simulated (1 ms real); slowed a hundred times, node0's first comes 0.1 s after its
        // slot, past placement's 50 ms tolerance for a tie.
        let farm = try await TestFarm.start([
            .init(preload: ["llama3.2"], tokensPerSecond: 1), .init(preload: ["llama3.2"], tokensPerSecond: 1),
        ])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setSlowdown(100)
        // Until both nodes have answered, one of them is priced at what the other showed.
        while farm.nodes[0].requestCount("/api/chat") == 0 || farm.nodes[1].requestCount("/api/chat") == 0 {
            #expect(try await farm.text("POST", "/v1/chat/completions", body: Self.streamingChat).status == 200)
        }
        let slowBefore = farm.nodes[0].requestCount("/api/chat")
        for _ in 0..<20 { #expect(try await farm.text("POST", "/v1/chat/completions", body: Self.streamingChat).status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") - slowBefore <= 2)
        // The operator sees why in /status.
        let status = try await farm.json("GET", "/status").body
        // Node 1's first token is nominally a millisecond, but a busy host stretches it (13 ms in one CI
        // run, where 10x failed at 0.104 s against 0.013 s): node 0's holds its 0.1 s slowdown.
        func firstToken(_ node: Int) -> Double? { status["nodes"]?[node]?["loadedModels"]?[0]?["firstTokenSeconds"]?.doubleValue }
        #expect((firstToken(0) ?? 0) >= 0.09)
        #expect((firstToken(0) ?? 0) > 4 * (firstToken(1) ?? .infinity))
        // And the node's pace, which the planner weighs its copies by.
        #expect((status["nodes"]?[0]?["pace"]?.doubleValue ?? 0) > 4 * (status["nodes"]?[1]?["pace"]?.doubleValue ?? .infinity))
    }

    @Test func aSecondRequestForAModelThatIsLoadingJoinsThatLoad() async throws {
        // Cold loads take 500 simulated s per GB: 1 s real for the 2 GB model, long enough for /status
        // to see it under way on a busy machine (at 0.4 s it once ended first).
        let slow = TestFarm.NodeSpec(loadSecondsPerGB: 500)
        let farm = try await TestFarm.start([slow, slow])
        try await farm.waitUntilAllHealthy()
        async let first = farm.chat()
        #expect(await farm.eventually { await farm.gateway.cluster.snapshots().contains { !$0.loading.isEmpty } })
        let status = try await farm.json("GET", "/status").body
        let loading = status["nodes"]?.arrayValue?.compactMap { $0["loadingModels"]?[0]?["name"]?.stringValue }
        #expect(loading == ["llama3.2:latest"])
        async let second = farm.chat()
        #expect(try await first.status == 200)
        #expect(try await second.status == 200)
        let loads = await farm.nodes[0].loadCount() + farm.nodes[1].loadCount()
        #expect(loads == 1)
        #expect(farm.nodes.map { $0.answeredCount("/api/chat") }.sorted() == [0, 2])
    }

    @Test func statusShowsEachModelsDemandBesideWhereItIsWarm() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<4 { #expect(try await farm.chat().status == 200) }
        let models = try await farm.json("GET", "/status").body["models"]?.arrayValue ?? []
        #expect(models.compactMap { $0["name"]?.stringValue } == ["llama3.2:latest"])
        let entry = models.first
        #expect(entry?["warmOn"]?.arrayValue?.contains("node0") == true)
        #expect((entry?["requestsPerSecond"]?.doubleValue ?? 0) > 0)
        #expect((entry?["serviceSeconds"]?.doubleValue ?? 0) > 0)
        #expect((entry?["copiesWanted"]?.intValue ?? 0) >= 1)
        #expect(entry?["queued"] == 0)
        #expect(entry?["loadingOn"]?.arrayValue != nil)
        // The planner's target keeps the copy where it is; node1 has held nothing, so none is planned there.
        #expect(entry?["plannedOn"]?.arrayValue == ["node0"])
        #expect(entry?["releasedOn"]?.arrayValue == [])
    }

    /// With `TENSORWALL_TIME_SCALE` (simulated farms for benchmarks) Ollama's real durations are farm seconds too.
    @Test(arguments: [(1.0, 0.5), (0.5, 1.5)])
    func aColdLoadTeachesTheNodeItsLoadSpeed(timeScale: Double, expected: Double) async throws {
        // 1,000 simulated s per GB at the tests' time scale: the 2 GB model loads in about 2 s real.
        let farm = try await TestFarm.start(
            [.init(loadSecondsPerGB: 1000)], environment: ["TENSORWALL_TIME_SCALE": String(timeScale)])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["loadSecondsPerGB"] == .null)
        #expect(try await farm.chat().status == 200)
        // The load-only request that carried the load teaches its speed when its own answer ends, which on
        // a busy host can come after the chat's answer (the full suite once read null here).
        #expect(
            await farm.eventually {
                (try? await farm.json("GET", "/status").body["nodes"]?[0]?["loadSecondsPerGB"]?.doubleValue) != nil
            })
        let node = try await farm.json("GET", "/status").body["nodes"]?[0]
        // Ollama's load_duration of about 2 s real (2 / timeScale farm seconds), less the 1 s runner start,
        // over 2 GB; by how long the load really took, which a host that stalls stretches.
        let learned = try #require(node?["loadSecondsPerGB"]?.doubleValue)
        let took = try #require(await farm.nodes[0].lastLoadSeconds())
        #expect(abs(learned - (took / timeScale - 1) / 2) < 0.1, "\(learned) from a load of \(took) s")
        #expect(abs(learned - expected) < 0.5, "\(learned)")
        #expect(node?["loadedModels"]?[0]?["serviceSeconds"]?.doubleValue != nil)
    }

    /// Ollama loads one model at a time, and a load queued behind another takes the wait for the one
    /// ahead too: it must not teach the node a slower load speed.
    @Test func aLoadQueuedBehindAnotherDoesNotTeachTheLoadSpeed() async throws {
        // 1,000 simulated s per GB: each 2 GB load takes about 2 s real, the second in line about 4 s.
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "phi3"], loadSecondsPerGB: 1000, vramGB: 16)])
        try await farm.waitUntilAllHealthy()
        func chat(_ model: String) async throws -> (status: Int, headers: HTTPHeaders, body: JSONValue) {
            try await farm.json(
                "POST", "/api/chat", body: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        }
        async let first = chat("llama3.2")
        // The first load has reached the node, not only been claimed: under a loaded CI machine the second
        // request once overtook it on the way, the first load queued behind it there, and its 4 s taught 1.48.
        #expect(await farm.eventually { await farm.nodes[0].pendingLoads() >= 1 })
        async let second = chat("phi3")
        #expect(await farm.eventually { await farm.gateway.cluster.snapshots().contains { $0.loading.count == 2 } })
        // How long the first load took alone, as the node timed it, read before the second one ends.
        #expect(await farm.eventually(.seconds(60)) { await farm.nodes[0].loadCount() == 1 })
        let firstLoad = try #require(await farm.nodes[0].lastLoadSeconds())
        #expect(try await first.status == 200)
        #expect(try await second.status == 200)
        #expect(await farm.nodes[0].loadCount() == 2)
        let secondLoad = try #require(await farm.nodes[0].lastLoadSeconds())
        // What the first load alone teaches: (seconds - 1 s runner start) / 2 GB. Learned from the second
        // as well, it reads 30 % of the way to the second's rate (about 0.8 against 0.5).
        let alone = (firstLoad - 1) / 2
        let mixed = alone + 0.3 * ((secondLoad - 1) / 2 - alone)
        let learned = try #require(try await farm.json("GET", "/status").body["nodes"]?[0]?["loadSecondsPerGB"]?.doubleValue)
        // Nearer what the first load alone teaches than the mix: the gateway times a load from its side of the
        // wire, so a busy CI host adds some tens of milliseconds (0.027 s/GB once) to what the node measured.
        #expect(abs(learned - alone) < (mixed - alone) / 2, "\(learned) from loads of \(firstLoad) s and \(secondLoad) s")
        #expect(mixed - alone > 0.1, "the second load, queued behind the first, took \(secondLoad) s")
    }

    @Test func aBusyWarmNodeWithQuickAnswersIsWaitedForInsteadOfLoadingElsewhere() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1), .init()])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<3 { #expect(try await farm.chat().status == 200) }  // node 0 shows it answers in milliseconds
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var events = EventReader(held)
        _ = try await events.next()
        async let waiting = farm.chat()
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await waiting.status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") == 5)
        #expect(farm.nodes[1].requestCount("/api/chat") == 0)
        #expect(await farm.nodes[1].loadCount() == 0)
    }

    @Test func aBusyWarmNodeWithSlowAnswersLosesToAColdLoadOnAnIdleNode() async throws {
        // Nothing measured yet: a slot on node 0 is expected to take 5 s, a cold load on node 1 about 3 s.
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1), .init()])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var events = EventReader(held)
        _ = try await events.next()
        #expect(try await farm.chat().status == 200)
        #expect(farm.nodes[1].answeredCount("/api/chat") == 1)
        #expect(await farm.nodes[1].loadCount() == 1)
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1)]) {
            $0.queue = .init(maxLength: 1, maxWaitMs: 10_000)
        }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var events = EventReader(held)
        _ = try await events.next()
        async let queued = farm.chat()
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        #expect(try await farm.json("GET", "/status").body["queued"] == ["llama3.2:latest": 1])
        let refused = try await farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(refused.status == 429)
        #expect(Int(refused.headers["Retry-After"] ?? "") ?? 0 >= 1)
        #expect(refused.body["error"]?["type"] == "rate_limit_error")
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await queued.status == 200)  // the freed slot went to the queued request
    }

    @Test func aRequestPredictedToWaitPastMaxWaitIsRefusedAtOnceWithRetryAfter() async throws {
        // Answers take 16 ms (8 tokens at 0.5 tokens/s, time scaled by 1/1000); the queue allows 5 ms.
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1, tokensPerSecond: 0.5)], logs: logs) {
            $0.queue = .init(maxLength: 4, maxWaitMs: 5)
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // the service time is measured
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var events = EventReader(held)
        _ = try await events.next()
        let openAI = try await farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(openAI.status == 429)
        #expect(openAI.body["error"]?["code"] == "overloaded")
        #expect(openAI.headers["Retry-After"].flatMap { Int($0) } ?? 0 >= 1)
        let native = try await farm.json("POST", "/api/chat", body: Self.chat)
        #expect(native.status == 429)
        #expect(native.body["error"]?.stringValue?.contains("overloaded") == true)
        #expect(farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 0)  // refused, not queued
        // The operator's log says why, once for the two refusals: nobody queued, the one slot busy.
        let refusalLines = logs.text.split(separator: "\n").filter { $0.contains("farm turned away a request for llama3.2:latest") }
        #expect(refusalLines.count == 1)
        #expect(refusalLines.first?.contains("warning") == true)
        #expect(refusalLines.first?.contains("429 overloaded") == true)
        #expect(
            refusalLines.first?.contains("0 queued ahead for 1 warm slot; best start a warm slot on node0; first token predicted in about")
                == true)
        // ...and /metrics counts both.
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        #expect(metrics.contains("tensorwall_refusals_total{model=\"llama3.2:latest\",reason=\"overloaded\"} 2\n"), "\(metrics)")
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func waitingPastMaxWaitAnswers503() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1)]) {
            $0.queue = .init(maxLength: 4, maxWaitMs: 100)
        }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat)
        var events = EventReader(held)
        _ = try await events.next()
        let answer = try await farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(answer.status == 503)
        #expect(answer.body["error"]?["code"] == "queue_timeout")
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    /// One healthy node whose 2 GB model loads in about 1.6 s (800 simulated s per GB, a thousandth
    /// real), behind a queue that allows 1 s, and waiting on for a load at most three times that.
    /// (With a 0.8 s load, a host busy with the whole suite once sent the third request only after
    /// the load and both answers had ended.)
    static func farmWithALoadLongerThanTheMaximumWait(slots: Int) async throws -> TestFarm {
        let farm = try await TestFarm.start([.init(maxParallel: slots, loadSecondsPerGB: 800)]) {
            $0.queue = .init(maxLength: 8, maxWaitMs: 1000)
        }
        try await farm.waitUntilAllHealthy()
        return farm
    }

    /// A load longer than the queue's maximum wait: requests queued behind it, which its slots take
    /// first, are served when it is done rather than answered 503 a moment before (at 4 s per GB on the
    /// placement benchmark, `codellama:13b` loaded in 31 s and its first six requests got 503 after 30 s).
    @Test func requestsQueuedForALoadLongerThanTheMaximumWaitAreServedWhenItIsDone() async throws {
        let farm = try await Self.farmWithALoadLongerThanTheMaximumWait(slots: 2)
        async let first = farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(await farm.eventually { await farm.gateway.cluster.snapshots().contains { !$0.loading.isEmpty } })
        async let second = farm.json("POST", "/v1/chat/completions", body: Self.chat)
        async let third = farm.json(
            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        let answers = try await [first, second, third]
        #expect(answers.map(\.status) == [200, 200, 200], "\(answers.map(\.body))")
        #expect(await farm.nodes[0].loadCount() == 1)
    }

    /// The load does not make the maximum wait longer for requests it will not serve soon after: with
    /// one slot, the request queued behind the one the new copy takes first would wait a whole answer
    /// more (its service time is not measured yet: 5 s by default, far past this queue's 1 s), and is answered 503 at the maximum.
    @Test func aRequestFarBehindALoadStillTimesOut() async throws {
        let farm = try await Self.farmWithALoadLongerThanTheMaximumWait(slots: 1)
        async let first = farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(await farm.eventually { await farm.gateway.cluster.snapshots().contains { !$0.loading.isEmpty } })
        async let second = farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        let third = try await farm.json("POST", "/v1/chat/completions", body: Self.chat)
        #expect(third.status == 503)
        #expect(third.body["error"]?["code"] == "queue_timeout")
        #expect(try await first.status == 200)
        #expect(try await second.status == 200)
    }

    @Test func aConversationsNextTurnGoesToTheNodeThatServedItsLastTurn() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"], maxParallel: 4)
        let farm = try await TestFarm.start([warm, warm, warm])
        try await farm.waitUntilAllHealthy()
        for conversation in 0..<6 {
            let before = farm.nodes.map { $0.requestCount("/api/chat") }
            let system = #"{"role":"system","content":"You are assistant number \#(conversation)."}"#
            let turn1 = #"{"model":"llama3.2","messages":[\#(system),{"role":"user","content":"Hello"}]}"#
            let first = try await farm.json("POST", "/v1/chat/completions", body: turn1)
            let served = try #require(farm.nodes.indices.first { farm.nodes[$0].requestCount("/api/chat") > before[$0] })
            let reply = try #require(first.body["choices"]?[0]?["message"]?["content"]?.stringValue)
            let turn2 =
                #"{"model":"llama3.2","messages":[\#(system),{"role":"user","content":"Hello"},{"role":"assistant","content":"\#(reply)"},{"role":"user","content":"And then?"}]}"#
            let beforeSecond = farm.nodes.map { $0.requestCount("/api/chat") }
            #expect(try await farm.json("POST", "/v1/chat/completions", body: turn2).status == 200)
            #expect(farm.nodes[served].requestCount("/api/chat") == beforeSecond[served] + 1, "conversation \(conversation)")
        }
    }

    @Test func keepAliveIsPassedThroughAndDefaultedFromTheConfig() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.keepAlive = "30m" }
        try await farm.waitUntilAllHealthy()
        _ = try await farm.chat()
        #expect(farm.nodes[0].lastAnswerBody("/api/chat")?["keep_alive"] == "30m")
        _ = try await farm.chat(extra: #","keep_alive":-1"#)
        #expect(farm.nodes[0].lastAnswerBody("/api/chat")?["keep_alive"] == -1)
    }
}

@Suite(.stopsFarms) struct WarmListTests {
    @Test func warmModelsArePreloadedOnTheRequestedNumberOfNodesAndRewarmedAfterEviction() async throws {
        let spec = TestFarm.NodeSpec(models: ["llama3.2", "mistral"])
        let farm = try await TestFarm.start([spec, spec, spec]) { $0.warm = ["llama3.2": 2] }
        func loadedCount() async -> Int {
            var count = 0
            for node in farm.nodes where await node.loadedModelNames().contains("llama3.2:latest") { count += 1 }
            return count
        }
        #expect(await farm.eventually { await loadedCount() == 2 })
        await farm.gateway.monitor.waitForRounds(4)  // four planning rounds: no third load
        #expect(await loadedCount() == 2)
        let warmNode = try #require(
            await farm.nodes.indices.asyncFirst { await farm.nodes[$0].loadedModelNames().contains("llama3.2:latest") })
        #expect(farm.nodes[warmNode].lastBody("/api/generate")?["keep_alive"] == -1)
        farm.nodes[warmNode].stop()  // the node dies, taking its copy with it
        #expect(await farm.eventually { await farm.health(of: warmNode) == .unhealthy })
        let others = farm.nodes.indices.filter { $0 != warmNode }
        #expect(
            await farm.eventually {
                var count = 0
                for index in others where await farm.nodes[index].loadedModelNames().contains("llama3.2:latest") { count += 1 }
                return count == 2
            })
    }
}

extension Collection {
    func asyncFirst(where predicate: (Element) async -> Bool) async -> Element? {
        for element in self where await predicate(element) { return element }
        return nil
    }
}
