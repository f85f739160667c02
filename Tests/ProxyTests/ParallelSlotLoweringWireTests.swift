import Balancer
import Testing

@testable import Proxy

/// A node that serves fewer requests per model at once than `cluster.json` says (a `maxParallel` of 2
/// on an Ollama left at its default of 1): requests sent to a slot TensorWall counts free wait in
/// Ollama's queue, Ollama's timings show it, and TensorWall lowers the slots it counts on.
@Suite(.stopsFarms) struct ParallelSlotLoweringWireTests {
    static let streamingChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#
    static let nativeImageChat = #"{"model":"llama3.2","messages":[{"role":"user","content":"?","images":["iVBORw0KGgo="]}]}"#
    static let streamingImageChat =
        #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"what is it?"},"#
        + #"{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}"#

    /// One round: a held stream takes a slot; a second request goes to the second slot TensorWall
    /// counts, and both are let go 500 ms after it reached the node (whether it waited behind the
    /// first there or ran beside it). Timed from its arrival, not its sending: on a loaded machine it
    /// may reach the node late, and a short wait reads as a slot that was free.
    private func heldPair(_ farm: TestFarm, path: String = "/v1/chat/completions", body: String = Self.streamingChat) async throws -> (
        Int, Int
    ) {
        let before = farm.nodes[0].requestCount("/api/chat")
        farm.nodes[0].holdStreams(true)
        let held = try await farm.request("POST", path, body: body)
        _ = try await held.next()  // its answer has begun: it holds a slot there
        async let second = farm.request("POST", path, body: body)
        for _ in 0..<200 where farm.nodes[0].requestCount("/api/chat") < before + 2 {
            try await Task.sleep(for: .milliseconds(25))
        }
        try await Task.sleep(for: .milliseconds(500))
        farm.nodes[0].holdStreams(false)
        while try await held.next() != nil {}
        let answer = try await second
        while try await answer.next() != nil {}
        return (held.status, answer.status)
    }

    /// Requests sent with nothing else running for the model: what they leave in Ollama's timings is
    /// the node's clock, and TensorWall reads no wait for a slot before it has seen that.
    private func answerAlone(_ farm: TestFarm, times: Int = 1) async throws {
        for _ in 0..<times {
            let alone = try await farm.json(
                "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(alone.status == 200)
        }
    }

    @Test func aNodeThatQueuesBesideOneRequestIsCountedWithOneSlot() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 2, numParallel: 1)])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.knownParallelSlots(settlingOn: 2) == 2)
        try await answerAlone(farm)
        // On a loaded machine a round's end can be relayed too late to explain its wait (a CI run
        // missed one): a round that shows nothing costs another, up to three times as many as needed.
        for _ in 0..<(ParallelSlotDiscovery.waitsNeeded * 3) {
            let statuses = try await heldPair(farm)
            #expect(statuses == (200, 200))
            if await farm.gateway.cluster.snapshots()[0].maxParallel == 1 { break }
        }
        #expect(try await farm.knownParallelSlots(settlingOn: 1) == 1)
        let status = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(status?["maxParallel"] == 1)
        #expect(status?["maxParallelFrom"] == "ollama queue")
    }

    @Test func requestsWithImagesSayNothingAboutSlots() async throws {
        // Ollama encodes images before a request takes its slot, in time no duration names: it would
        // read as a wait for a slot. The same node and rounds as above, with an image in each request.
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 2, numParallel: 1)])
        try await farm.waitUntilAllHealthy()
        try await answerAlone(farm)
        for _ in 0..<ParallelSlotDiscovery.waitsNeeded {
            let statuses = try await heldPair(farm, body: Self.streamingImageChat)
            #expect(statuses == (200, 200))
        }
        // And on Ollama's own API, images on a message.
        for _ in 0..<ParallelSlotDiscovery.waitsNeeded {
            let statuses = try await heldPair(farm, path: "/api/chat", body: Self.nativeImageChat)
            #expect(statuses == (200, 200))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await farm.gateway.cluster.snapshots()[0].maxParallel == 2)
    }

    @Test func aNodeWhoseTimingsLeaveOutPartOfEveryAnswerKeepsItsSlots() async throws {
        // Every answer spends 0.4 s that only `total_duration` counts, waited for or not (a node that
        // templates slowly, a simulator that reports planned durations): the node's clock, not its queue.
        let farm = try await TestFarm.start([
            .init(preload: ["llama3.2"], maxParallel: 2, numParallel: 2, uncountedSecondsPerAnswer: 400)
        ])
        try await farm.waitUntilAllHealthy()
        try await answerAlone(farm, times: 2)
        for _ in 0..<ParallelSlotDiscovery.waitsNeeded {
            let statuses = try await heldPair(farm)
            #expect(statuses == (200, 200))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await farm.gateway.cluster.snapshots()[0].maxParallel == 2)
    }

    @Test func aNodeWithTheSlotsConfiguredKeepsThem() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"], maxParallel: 2, numParallel: 2)])
        try await farm.waitUntilAllHealthy()
        try await answerAlone(farm)
        for _ in 0..<ParallelSlotDiscovery.waitsNeeded {
            let statuses = try await heldPair(farm)
            #expect(statuses == (200, 200))
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await farm.gateway.cluster.snapshots()[0].maxParallel == 2)
        #expect(try await farm.json("GET", "/status").body["nodes"]?[0]?["maxParallelFrom"] == "cluster.json")
    }
}
