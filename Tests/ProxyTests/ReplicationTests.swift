import Balancer
import Foundation
import Testing
import WireFormats

@testable import Proxy

/// A model whose requests queue on its one warm node gets a copy loaded into free VRAM elsewhere.
@Suite(.stopsFarms) struct ReplicationTests {
    static let chat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
    static let streamingChat = #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#

    /// Node 0 has the model warm with one slot; node 1 has 16 GB of VRAM and nothing loaded.
    /// Leaves a request queued behind a held stream on node 0 and returns once it queues.
    func queueBehindAHeldStream(replicate: Bool) async throws -> (TestFarm, EventReader) {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 1), .init(maxParallel: 1)]) { config in
            config.replicate = replicate
            for index in config.nodes.indices { config.nodes[index].vramGB = 16 }
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)  // node 0 learns that answers are quick: waiting beats a cold load
        farm.nodes[0].holdStreams(true)
        var events = EventReader(try await farm.request("POST", "/v1/chat/completions", body: Self.streamingChat))
        _ = try await events.next()
        Task { _ = try await farm.chat() }
        return (farm, events)
    }

    @Test func aQueuedRequestMovesToTheNewCopyOnceItIsWarm() async throws {
        let (farm, held) = try await queueBehindAHeldStream(replicate: true)
        var events = held
        #expect(await farm.eventually { await farm.nodes[1].loadedModelNames() == ["llama3.2:latest"] })
        #expect(farm.nodes[1].lastBody("/api/generate")?["prompt"] == "")  // a preload, not a client's request
        // Node 0 is still held: the queued request is served by the new copy on node 1.
        #expect(await farm.eventually { farm.nodes[1].requestCount("/api/chat") == 1 })
        #expect(farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 0)
        #expect(farm.nodes[0].streamsHeld)
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func withReplicationOffNoCopyIsLoaded() async throws {
        let (farm, held) = try await queueBehindAHeldStream(replicate: false)
        var events = held
        #expect(await farm.eventually { farm.gateway.cluster.queuedRequests(ModelName("llama3.2")!) == 1 })
        await farm.gateway.monitor.waitForRounds(6)  // six rounds in which the planner could have added a copy
        #expect(await farm.nodes[1].loadedModelNames() == [])
        farm.nodes[0].holdStreams(false)
        while try await events.next() != nil {}
    }

    @Test func aPreloadTeachesTheNodeItsLoadSpeedByHowLongItTook() async throws {
        // Ollama answers a preload with no load_duration; the planner's own loads must still teach
        // the node's load speed. 1,000 simulated s per GB: the 2 GB model loads in about 2 s real.
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        // Removed after the farm stops: its shutdown writes the file again.
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        DemandStateFile(path: path).save([ModelName("llama3.2")!: (rate: 1.0, serviceSeconds: 3)])
        let farm = try await TestFarm.start([.init(loadSecondsPerGB: 1000)]) { config in
            config.stateFile = path
            config.nodes[0].vramGB = 16
        }
        #expect(await farm.eventually { await farm.nodes[0].loadedModelNames() == ["llama3.2:latest"] })
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)  // a preload, no client's request
        // (its seconds - the 1 s runner start) / 2 GB, as the request-driven load in PlacementTests teaches.
        var learned: Double?
        _ = await farm.eventually {
            learned = try? await farm.json("GET", "/status").body["nodes"]?[0]?["loadSecondsPerGB"]?.doubleValue
            return learned != nil
        }
        // By how long this load took: about 2 s, longer on a host that stalls (3 s once, and 1.0 learned).
        let took = try #require(await farm.nodes[0].lastLoadSeconds())
        #expect(abs((learned ?? 0) - (took - 1) / 2) < 0.1, "\(String(describing: learned)) from a load of \(took) s")
    }

    @Test func aRestartReWarmsWhatWasHotFromTheStateFile() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        // Removed after the farm stops: its shutdown writes the file again.
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // An earlier run saw llama3.2 asked for once a second, answers taking 3 s: several copies' worth.
        DemandStateFile(path: path).save([ModelName("llama3.2")!: (rate: 1.0, serviceSeconds: 3)])
        let farm = try await TestFarm.start([.init(), .init()]) { config in
            config.stateFile = path
            for index in config.nodes.indices { config.nodes[index].vramGB = 16 }
        }
        // No request has come: both nodes load a copy, each its own, at the same time.
        #expect(
            await farm.eventually {
                var loaded = 0
                for node in farm.nodes where await node.loadedModelNames() == ["llama3.2:latest"] { loaded += 1 }
                return loaded == 2
            })
        #expect(farm.nodes.allSatisfy { $0.requestCount("/api/chat") == 0 })
        // Shutting down writes what this run knows.
        await farm.gateway.drain()
        let saved = try #require(DemandStateFile(path: path).load())
        #expect(saved.state[ModelName("llama3.2")!] != nil)
    }

    /// `/status` says when the demand offers most of the slots of every copy: the planner then keeps
    /// every model's last copy (`CapacityPlanner.slotsMostlyBusy`).
    @Test(arguments: [(1.0, true), (0.1, false)])
    func theStatusSaysWhenSlotsAreMostlyBusy(rate: Double, busy: Bool) async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // 3 s answers: at 1/s, 3 offered on one copy's 2 slots; at 0.1/s, 0.3.
        DemandStateFile(path: path).save([ModelName("llama3.2")!: (rate: rate, serviceSeconds: 3)])
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { config in
            config.stateFile = path
            config.nodes[0].vramGB = 2.5
        }
        try await farm.waitUntilAllHealthy()
        var status: JSONValue?
        #expect(
            await farm.eventually {
                status = try? await farm.json("GET", "/status").body
                return status?["models"]?[0]?["warmOn"]?.arrayValue?.count == 1
            })
        #expect(status?["slotsMostlyBusy"] == .bool(busy), "\(String(describing: status?["models"]))")
    }

    /// Clients that set `num_ctx` get, after a restart, copies loaded for it: loaded for the default,
    /// placement would leave them out for those clients (or their first request would reload them).
    @Test func aRestartReWarmsForTheContextLengthTheRequestsAsked() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        let model = ModelName("llama3.2")!
        DemandStateFile(path: path).save([model: (rate: 1.0, serviceSeconds: 3)], contextLengths: [model: 8192])
        #expect(DemandStateFile(path: path).load()?.contextLengths == [model: 8192])
        let farm = try await TestFarm.start([.init()]) { config in
            config.stateFile = path
            config.nodes[0].vramGB = 16
        }
        #expect(await farm.eventually { await farm.nodes[0].runnerContextLength("llama3.2") == 8192 })
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
        // A request asking 8192 finds its copy warm.
        let body = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_ctx":8192}}"#
        #expect(try await farm.json("POST", "/api/chat", body: body).status == 200)
        #expect(await farm.nodes[0].loadCount() == 1)
        // Shutting down writes the length again.
        await farm.gateway.drain()
        #expect(DemandStateFile(path: path).load()?.contextLengths == [model: 8192])
    }

    /// With most clients setting no length and some asking 8192, the file keeps 8192: a runner for it
    /// serves both, where a majority count would keep none and a restart would load for the default.
    @Test func theStateFileKeepsTheLengthThatServesMostRequests() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        let farm = try await TestFarm.start([.init()]) { config in
            config.stateFile = path
            config.nodes[0].vramGB = 16
        }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: nil)).status == 200)
        #expect(await RunnerContextWireTests.statusShowsTheDefaultLength(farm, node: 0))
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: nil)).status == 200)
        #expect(try await farm.json("POST", "/api/chat", body: RunnerContextWireTests.chat(contextLength: 8192)).status == 200)
        await farm.gateway.drain()
        #expect(DemandStateFile(path: path).load()?.contextLengths == [ModelName("llama3.2")!: 8192])
    }

    @Test func aNodeLeavingServiceIsPlannedWithoutBeforeItsRequestsMove() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // Asked for now and then: one copy's worth, the one node 0 holds.
        DemandStateFile(path: path).save([ModelName("llama3.2")!: (rate: 0.05, serviceSeconds: 1)])
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()], logs: logs) { config in
            config.stateFile = path
            for index in config.nodes.indices { config.nodes[index].vramGB = 16 }
        }
        try await farm.waitUntilAllHealthy()
        await farm.gateway.monitor.waitForRounds(2)
        #expect(await farm.nodes[1].loadedModelNames() == [])
        farm.nodes[0].stop()
        #expect(await farm.eventually { await farm.nodes[1].loadedModelNames() == ["llama3.2:latest"] })
        // The copy was on its way before node 0 was marked out: what requests then moved found it.
        let text = logs.text
        let loading = try #require(text.range(of: "loading llama3.2:latest on node node1 ahead of requests"))
        let markedOut = try #require(text.range(of: "node node0 (\(farm.gateway.cluster.nodes[0].url)) is now unhealthy"))
        #expect(loading.lowerBound < markedOut.lowerBound, "\(text)")
        #expect(text.contains("planner plans without node node0, which leaves service"))
    }

    @Test func statusShowsACopyThePlannerReleased() async throws {
        let path = NSTemporaryDirectory() + "tensorwall-state-\(UInt64.random(in: 0...UInt64.max)).json"
        Teardown.add { try? FileManager.default.removeItem(atPath: path) }
        // Asked for now and then: one copy's worth, and both nodes hold one.
        DemandStateFile(path: path).save([ModelName("llama3.2")!: (rate: 0.05, serviceSeconds: 1)])
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init(preload: ["llama3.2"])], logs: logs) { config in
            config.stateFile = path
            for index in config.nodes.indices { config.nodes[index].vramGB = 16 }
        }
        try await farm.waitUntilAllHealthy()
        var entry: JSONValue?
        let shown = await farm.eventually {
            entry = try? await farm.json("GET", "/status").body["models"]?[0]
            return entry?["releasedOn"]?.arrayValue?.count == 1
        }
        #expect(shown, "\(String(describing: entry)) \(logs.text.suffix(3000))")
        // The released copy is the one the target leaves out, and the other is planned.
        let released = entry?["releasedOn"]?.arrayValue ?? []
        #expect(entry?["plannedOn"]?.arrayValue?.count == 1)
        #expect(entry?["plannedOn"]?.arrayValue?.contains(released.first ?? .null) == false)
        #expect(entry?["warmOn"]?.arrayValue?.count == 2)
    }
}
