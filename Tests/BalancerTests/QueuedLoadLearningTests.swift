import Testing

@testable import Balancer

/// Ollama loads one model at a time: a load claimed while another runs on the node waits for it, and
/// its time counts both. It must teach the node's load speed nothing, whichever of its two ends the
/// node hears first: the load-only request that carried it (`OllamaNode.loadCarried`), or the call
/// it carried (`release`), whose task can finish first on a busy host.
@Suite struct QueuedLoadLearningTests {
    let first = ModelName("llama3.2")!
    let second = ModelName("phi3")!

    /// A 16 GB node with both 2 GB models pulled and nothing loaded.
    func makeNode() async -> OllamaNode { await probedNode(pulled: [first: 2, second: 2], vramGB: 16) }

    /// The call a load-only request carried, answered with the load's `load_duration`.
    func carriedCall(loadSeconds: Double, dispatchedAt: Double) -> RequestOutcome {
        var outcome = RequestOutcome(succeeded: true, loadSeconds: loadSeconds, serviceSeconds: 0.5)
        outcome.startedColdLoad = true
        outcome.loadCarried = true
        outcome.dispatchedAt = dispatchedAt
        return outcome
    }

    @Test(arguments: [false, true])
    func aLoadQueuedBehindAnotherTeachesNothing(callEndsFirst: Bool) async {
        let node = await makeNode()
        #expect(await node.tryAcquire(first, claim: .coldLoad(predictedSeconds: 3), now: 0))
        #expect(await node.tryAcquire(second, claim: .coldLoad(predictedSeconds: 3), now: 0))
        // The first load alone: 3 s for 2 GB.
        await node.loadCarried(first, seconds: 3, now: 3)
        _ = await node.release(first, outcome: carriedCall(loadSeconds: 3, dispatchedAt: 0), now: 3.5)
        let alone = await node.snapshot(index: 0).learnedLoadSecondsPerGB
        #expect(alone != nil)
        // The second, queued behind it: 6 s.
        if callEndsFirst {
            _ = await node.release(second, outcome: carriedCall(loadSeconds: 3, dispatchedAt: 0), now: 6.5)
            await node.loadCarried(second, seconds: 6, now: 6.6)
        } else {
            await node.loadCarried(second, seconds: 6, now: 6)
            _ = await node.release(second, outcome: carriedCall(loadSeconds: 3, dispatchedAt: 0), now: 6.5)
        }
        #expect(await node.snapshot(index: 0).learnedLoadSecondsPerGB == alone)
    }
}
