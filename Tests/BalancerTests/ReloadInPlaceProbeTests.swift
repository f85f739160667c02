import Testing

@testable import Balancer

/// Ollama reloads a runner for a request asking another context length: it unloads the runner, then
/// loads it again, and a probe sent meanwhile shows the model gone. Applied once the request has
/// ended (a busy host), that probe must not unload the model in TensorWall's eyes: the next request
/// would go as a cold load without the runner's length, and Ollama would reload it once more.
@Suite struct ReloadInPlaceProbeTests {
    let model = ModelName("llama3.2")!

    func probe(_ node: OllamaNode, showing contextLength: Int?, sentAt: Double, now: Double) async {
        let pulled = [PulledModel(name: model, displayName: "llama3.2", sizeBytes: 2 * gigabyte, digest: "d")]
        let loaded = contextLength.map {
            [LoadedModel(name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil, contextLength: $0)]
        }
        await node.apply(
            ProbeReport(pulled: pulled, loaded: loaded ?? []), outcome: ProbeOutcome(at: now, succeeded: true, latencyMs: 1, error: nil),
            now: now, sentAt: sentAt)
    }

    @Test func aProbeSentDuringAReloadInPlaceDoesNotUnloadTheModel() async {
        var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)
        config.vramGB = 16
        let node = OllamaNode(config: config)
        await node.setHealth(.healthy)
        await probe(node, showing: 4096, sentAt: 0, now: 0)
        // A request asking 8192 goes to the runner loaded at 4096: Ollama reloads it for the request.
        #expect(await node.tryAcquire(model, claim: .warmSlot, now: 10))
        await node.runnerAsked(model, contextLength: 8192, now: 10)
        await node.firstByteArrived(model, now: 14)
        _ = await node.release(model, outcome: RequestOutcome(succeeded: true, serviceSeconds: 1), now: 15)
        // A probe that left during the reload arrives after the answer.
        await probe(node, showing: nil, sentAt: 12, now: 16)
        var snapshot = await node.snapshot(index: 0)
        #expect(snapshot.isLoaded(model))
        #expect(snapshot.runnerContexts.contextLength(of: model) == 8192)
        // A probe sent after the reload that shows the model gone is believed: Ollama unloaded it since.
        await probe(node, showing: nil, sentAt: 17, now: 18)
        snapshot = await node.snapshot(index: 0)
        #expect(!snapshot.isLoaded(model))
    }
}
