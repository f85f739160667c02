import Balancer
import Foundation
import Testing

@testable import Proxy

/// A planned load whose victim is busy waits for the victim's answer to end (the copy takes no new
/// request meanwhile), then unloads it and loads: on a busy farm a copy is seldom idle when the
/// planner looks.
@Suite(.stopsFarms) struct DrainWireTests {
    static let streamingChat = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
    let busy = ModelName("llama3.2")!
    let incoming = ModelName("qwen2.5")!

    /// One node with room for one model: `llama3.2` warm and streaming an answer the node holds.
    func farmStreamingAHeldAnswer() async throws -> (TestFarm, EventReader) {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "qwen2.5"], preload: ["llama3.2"], vramGB: 3)]) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // the node's answers are learned to be quick
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        return (farm, events)
    }

    func preloader(_ farm: TestFarm, minimumDrainSeconds: Double = 5) -> Preloader {
        var preloader = Preloader(
            cluster: farm.gateway.cluster, client: farm.gateway.client, timeouts: farm.gateway.upstreamTimeouts,
            logger: Logger(minimum: .error), loads: farm.gateway.loads)
        preloader.minimumDrainSeconds = minimumDrainSeconds
        return preloader
    }

    @Test func aBusyCopyFinishesItsAnswerBeforeThePlannedLoadTakesItsPlace() async throws {
        let (farm, held) = try await farmStreamingAHeldAnswer()
        var events = held
        let snapshot = await farm.gateway.cluster.nodes[0].snapshot(index: 0)
        #expect(await preloader(farm).start(incoming, on: snapshot, evicting: [busy], keepAlive: nil, reason: "test"))
        // While the answer streams nothing is unloaded or loaded, and /status shows the copy draining.
        try await Task.sleep(for: .milliseconds(100))
        #expect(farm.nodes[0].requestCount("/api/generate") == 0)
        #expect(await farm.nodes[0].loadedModelNames() == ["llama3.2:latest"])
        let status = try await farm.json("GET", "/status").body
        #expect(status["nodes"]?[0]?["drainingModels"]?[0]?["name"] == "llama3.2:latest")
        #expect(status["nodes"]?[0]?["drainingModels"]?[0]?["inFlight"] == 1)
        // The answer ends whole; then the copy makes way.
        farm.nodes[0].holdStreams(false)
        var last: String?
        while let event = try await events.next() { last = event }
        #expect(last == "[DONE]")
        #expect(await farm.eventually { await farm.nodes[0].loadedModelNames() == ["qwen2.5:latest"] })
        let after = try await farm.json("GET", "/status").body
        #expect(after["nodes"]?[0]?["drainingModels"]?.arrayValue?.isEmpty == true)
    }

    @Test func anAnswerThatOutlastsTheDrainKeepsItsCopy() async throws {
        let (farm, held) = try await farmStreamingAHeldAnswer()
        var events = held
        let snapshot = await farm.gateway.cluster.nodes[0].snapshot(index: 0)
        #expect(
            await preloader(farm, minimumDrainSeconds: 0.2).start(incoming, on: snapshot, evicting: [busy], keepAlive: nil, reason: "test"))
        // The drain gives up: the copy serves again, and nothing was unloaded or loaded.
        #expect(await farm.eventually { await farm.gateway.cluster.nodes[0].snapshot(index: 0).isLoaded(busy) })
        let after = await farm.gateway.cluster.nodes[0].snapshot(index: 0)
        #expect(after.draining.isEmpty && !after.isLoading(incoming))
        #expect(farm.nodes[0].requestCount("/api/generate") == 0)
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await farm.chat().status == 200)
        #expect(await farm.nodes[0].loadedModelNames() == ["llama3.2:latest"])
    }

    /// A request for the model a planned load brings joins that load, and is held back until the
    /// load's victims are unloaded: sent at once, it would make the node load the model itself and
    /// make room with a model of its own choosing (here `phi3`, idle, while `llama3.2` drains).
    @Test func aRequestThatJoinsAPlannedLoadWaitsForItsUnloads() async throws {
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2", "qwen2.5", "phi3"], preload: ["phi3", "llama3.2"], vramGB: 5)
        ]) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        let snapshot = await farm.gateway.cluster.nodes[0].snapshot(index: 0)
        // A drain that outlasts its minimum gives up and lets the joiner through: on a host where the
        // suite's farms starve this one for seconds, 5 s passed before the stream was released.
        let patient = preloader(farm, minimumDrainSeconds: 60)
        #expect(await patient.start(incoming, on: snapshot, evicting: [busy], keepAlive: nil, reason: "test"))
        async let joined = farm.chat("qwen2.5")
        // While llama3.2 drains, nothing reaches the node for qwen2.5, and phi3 stays.
        try await Task.sleep(for: .milliseconds(300))
        #expect(await farm.nodes[0].loadedModelNames().sorted() == ["llama3.2:latest", "phi3:latest"])
        #expect(await farm.gateway.cluster.nodes[0].holdsJoinersBack(incoming))
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
        #expect(try await joined.status == 200)
        let loadedAfter = await farm.nodes[0].loadedModelNames().sorted()
        #expect(loadedAfter == ["phi3:latest", "qwen2.5:latest"])
        #expect(await farm.gateway.cluster.nodes[0].holdsJoinersBack(incoming) == false)
    }

    /// Ollama schedules requests that need a load one at a time, in order, and a load blocks the rest.
    /// A request for `llama3.2` sent while its load runs and after `qwen2.5`'s load was sent would wait
    /// for both; held until `llama3.2` is loaded, it goes straight to the runner and is answered while
    /// `qwen2.5` still loads (each load takes about three seconds here: at one second each, a host busy with the
    /// whole suite once checked only after `qwen2.5` had loaded too).
    @Test func aRequestJoiningALoadIsHeldWhileAnotherLoadIsQueuedBehindIt() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "qwen2.5"], loadSecondsPerGB: 1500)], logs: logs) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        let node = farm.gateway.cluster.nodes[0]
        let first = ModelName("llama3.2")!
        let second = ModelName("qwen2.5")!
        let loadingFirst = Task { try await farm.chat("llama3.2").status }
        #expect(await farm.eventually { await node.snapshot(index: 0).isLoading(first) })
        let loadingSecond = Task { try await farm.chat("qwen2.5").status }
        #expect(await farm.eventually { await node.snapshot(index: 0).isLoading(second) })
        #expect(await node.holdsJoinersBack(first))
        #expect(await node.holdsJoinersBack(second) == false)
        let joined = try await farm.chat("llama3.2")
        #expect(joined.status == 200)
        #expect(await farm.nodes[0].loadedModelNames() == ["llama3.2:latest"], "answered while qwen2.5 still loads")
        #expect(try await loadingFirst.value == 200)
        #expect(try await loadingSecond.value == 200)
        // The operator is told the second load starts behind the first, not only how long it takes.
        let lines = logs.text.split(separator: "\n").filter { $0.contains("cold-loading") }
        #expect(lines.count == 2)
        #expect(lines.first { $0.contains("cold-loading llama3.2") }?.contains("loads ahead") == false)
        #expect(lines.first { $0.contains("cold-loading qwen2.5") }?.contains("of loads ahead on the node") == true)
    }

    /// A model with no copy anywhere, on a farm where every node is busy with a model that has a
    /// copy on another node: the request does not wait for that model to go idle (under load it never
    /// does), it drains one of its copies, which finishes its answer, is unloaded, and makes way.
    @Test func aModelWithNoCopyDrainsABusyCopyOfAModelHeldTwice() async throws {
        let node = TestFarm.NodeSpec(models: ["llama3.2", "qwen2.5"], preload: ["llama3.2"], maxParallel: 1, numParallel: 1, vramGB: 3)
        let farm = try await TestFarm.start([node, node]) { config in
            config.replicate = false
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // llama3.2's answers are learned to be quick
        for simulator in farm.nodes { simulator.holdStreams(true) }
        var streams: [EventReader] = []
        for _ in 0..<2 {  // one held answer on each node's only slot
            var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
            _ = try await events.next()
            streams.append(events)
        }
        async let answered = farm.chat("qwen2.5")
        // One copy of llama3.2 drains for qwen2.5's load: /status shows it, and nothing is unloaded yet.
        var drainingOn: Int?
        #expect(
            await farm.eventually {
                let status = try? await farm.json("GET", "/status").body
                drainingOn = (0..<2).first { status?["nodes"]?[$0]?["drainingModels"]?[0]?["name"] == "llama3.2:latest" }
                return drainingOn != nil
            })
        #expect(farm.nodes.allSatisfy { $0.requestCount("/api/generate") == 0 })
        for simulator in farm.nodes { simulator.holdStreams(false) }
        for index in streams.indices {
            var last: String?
            while let event = try await streams[index].next() { last = event }
            #expect(last == "[DONE]")
        }
        #expect(try await answered.status == 200)
        let drained = try #require(drainingOn)
        #expect(await farm.nodes[drained].loadedModelNames() == ["qwen2.5:latest"])
        #expect(await farm.nodes[1 - drained].loadedModelNames() == ["llama3.2:latest"])
    }

    /// The same drain, when the busy copies' answers outlast it: the copy serves again, nothing was
    /// unloaded, and with no retry left the request gets a 503 rather than waiting on forever.
    @Test func aDrainForAModelWithNoCopyThatOutlastsItsWaitEndsInA503() async throws {
        let node = TestFarm.NodeSpec(models: ["llama3.2", "qwen2.5"], preload: ["llama3.2"], maxParallel: 1, numParallel: 1, vramGB: 3)
        let farm = try await TestFarm.start([node, node]) { config in
            config.replicate = false
            config.maxRetries = 0
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)
        for simulator in farm.nodes { simulator.holdStreams(true) }
        var streams: [EventReader] = []
        for _ in 0..<2 {
            var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
            _ = try await events.next()
            streams.append(events)
        }
        // The drain waits at least 5 s (four answer times of a quick model are less), then gives up.
        let refused = try await farm.chat("qwen2.5")
        #expect(refused.status == 503)
        #expect(refused.body["error"]?["code"] == "queue_timeout")
        let status = try await farm.json("GET", "/status").body
        #expect((0..<2).allSatisfy { status["nodes"]?[$0]?["drainingModels"]?.arrayValue?.isEmpty == true })
        #expect(farm.nodes.allSatisfy { $0.requestCount("/api/generate") == 0 })
        for simulator in farm.nodes { simulator.holdStreams(false) }
        for index in streams.indices { while try await streams[index].next() != nil {} }
        for simulator in farm.nodes { #expect(await simulator.loadedModelNames() == ["llama3.2:latest"]) }
    }
}
