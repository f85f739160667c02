import Testing

@testable import Balancer

/// A cold-load claim is checked against the node as it is when the claim arrives, not as the
/// snapshot that chose the node saw it: two requests may choose the same room at once.
@Suite struct ColdLoadClaimTests {
    func name(_ text: String) -> ModelName { ModelName(text)! }

    /// A 16 GB node holding codellama (7.4 GB, answering a request) and gemma2 (2.6 GB, idle).
    func makeNode(vramGB: Double? = 16, codellamaBusy: Bool = true) async -> OllamaNode {
        let sizes: [String: Double] = ["codellama": 7.4, "gemma2": 2.6, "mistral": 4.1, "qwen2.5": 4.7, "llama3.2": 2, "huge": 20]
        let node = await probedNode(
            pulled: Dictionary(uniqueKeysWithValues: sizes.map { (name($0.key), $0.value) }), loaded: [name("codellama"), name("gemma2")],
            vramGB: vramGB)
        if codellamaBusy { #expect(await node.tryAcquire(name("codellama"), claim: .warmSlot, now: 1)) }
        return node
    }

    /// Both requests saw gemma2 as the one idle model to unload. The first load takes the room;
    /// the second (4.7 GB next to 7.4 + 4.1 GB) would wait in Ollama for codellama to finish, so
    /// its claim fails and the request chooses again from a fresh snapshot.
    @Test func aSecondLoadCountingOnTheSameVictimIsRefused() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(name("mistral"), claim: .coldLoad(predictedSeconds: 5), now: 2, evicting: [name("gemma2")]))
        #expect(await node.tryAcquire(name("qwen2.5"), claim: .coldLoad(predictedSeconds: 6), now: 2, evicting: [name("gemma2")]) == false)
        let snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoading(name("qwen2.5")))
        #expect(snapshot.coldLoadsStarted == 1)
    }

    @Test func aSecondLoadThatStillFitsGoesAhead() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(name("mistral"), claim: .coldLoad(predictedSeconds: 5), now: 2, evicting: [name("gemma2")]))
        // 7.4 + 4.1 + 2 GB fit in 16, and three models is the cap.
        #expect(await node.tryAcquire(name("llama3.2"), claim: .coldLoad(predictedSeconds: 3), now: 2, evicting: [name("gemma2")]))
    }

    @Test func theCapOfLoadedModelsCountsLoadsUnderWay() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(name("llama3.2"), claim: .coldLoad(predictedSeconds: 3), now: 2))  // third model, fits
        // Then mistral in gemma2's place; a fourth model would need one of the three gone, and codellama
        // is busy while the other two are loading.
        #expect(await node.tryAcquire(name("mistral"), claim: .coldLoad(predictedSeconds: 5), now: 2, evicting: [name("gemma2")]))
        #expect(await node.tryAcquire(name("qwen2.5"), claim: .coldLoad(predictedSeconds: 6), now: 2) == false)
    }

    /// A model larger than the whole VRAM spills to the CPU in Ollama rather than waiting for room.
    @Test func aModelLargerThanTheVRAMIsNotHeldBackByIt() async {
        let node = await makeNode()
        #expect(await node.tryAcquire(name("huge"), claim: .coldLoad(predictedSeconds: 20), now: 2, evicting: [name("gemma2")]))
    }

    /// VRAM unknown: the node was seen holding 10 GB. A load beside another under way must fit in
    /// that, or it waits in TensorWall's queue (the estimate says so too) instead of stacking past
    /// the VRAM, where Ollama would hold it until busy models finished.
    @Test func onANodeOfUnknownVRAMASecondLoadWaitsUnlessItFitsInWhatTheNodeHeld() async {
        let node = await makeNode(vramGB: nil)
        #expect(await node.tryAcquire(name("mistral"), claim: .coldLoad(predictedSeconds: 5), now: 2, evicting: [name("gemma2")]))
        // 7.4 (busy) + 4.1 (loading) + 2 GB: more than the node ever held.
        #expect(await node.tryAcquire(name("llama3.2"), claim: .coldLoad(predictedSeconds: 3), now: 2) == false)
        let snapshot = await node.snapshot(index: 0)
        let estimate = CostModel().estimate(name("llama3.2"), on: snapshot, now: 2, demand: { _ in 0.1 }, farmServiceSeconds: 1)
        #expect(estimate.isColdLoad && !estimate.startsNow)

        // With nothing busy Ollama makes room at once: loads queue side by side in it, past what the
        // node held (4.1 + 2 + 4.7 GB), as the first loads of a cold farm do.
        let quiet = await makeNode(vramGB: nil, codellamaBusy: false)
        #expect(await quiet.tryAcquire(name("mistral"), claim: .coldLoad(predictedSeconds: 5), now: 2, evicting: [name("gemma2")]))
        #expect(await quiet.tryAcquire(name("llama3.2"), claim: .coldLoad(predictedSeconds: 3), now: 2))
        let quietSnapshot = await quiet.snapshot(index: 0)
        #expect(CostModel().estimate(name("qwen2.5"), on: quietSnapshot, now: 2, demand: { _ in 0.1 }, farmServiceSeconds: 1).startsNow)
        #expect(await quiet.tryAcquire(name("qwen2.5"), claim: .coldLoad(predictedSeconds: 6), now: 2))
    }
}
