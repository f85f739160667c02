import Testing

@testable import Balancer

/// Which models Ollama serves from one runner, so placement sees them as one.
@Suite struct SharedRunnersTests {
    let llama = ModelName("llama3.2")!
    let coder = ModelName("coding-assistant")!
    let tutor = ModelName("tutor")!
    let phi = ModelName("phi3")!

    func facts(_ files: String, numCtx: Int? = nil) -> ModelContextFacts {
        ModelContextFacts(modelfileLength: numCtx, trainedLength: 131_072, runnerFiles: files)
    }

    /// Digests by model: each model's facts are kept under its own manifest digest.
    func node(_ models: [ModelName]) -> SharedRunners.NodeModels {
        SharedRunners.NodeModels(
            pulled: Dictionary(uniqueKeysWithValues: models.map { ($0, "sha256:" + $0.canonical) }),
            sizes: Dictionary(uniqueKeysWithValues: models.map { ($0, $0 == phi ? 2_200_000_000 : 2_019_000_000) }))
    }

    var described: [String: ModelContextFacts] {
        [
            "sha256:llama3.2:latest": facts("FROM /blobs/sha256-llama"),
            "sha256:coding-assistant:latest": facts("FROM /blobs/sha256-llama"),
            "sha256:tutor:latest": facts("FROM /blobs/sha256-llama"), "sha256:phi3:latest": facts("FROM /blobs/sha256-phi"),
        ]
    }

    @Test func modelsMadeFromAnotherArePlacedUnderTheOneMadeFirst() {
        var nodes = [node([llama, coder, tutor, phi]), node([llama, coder, tutor])]
        // Unknown times: the least name.
        #expect(SharedRunners.aliases(nodes: nodes, facts: described) == [llama: coder, tutor: coder])
        // The base pulled first, its variants made from it since, on one node or the other.
        nodes[0].modifiedAt = [llama: 100, coder: 500]
        nodes[1].modifiedAt = [llama: 120, tutor: 300]
        #expect(SharedRunners.aliases(nodes: nodes, facts: described) == [coder: llama, tutor: llama])
    }

    /// A request for the one placed on a node holding only the other would not find its model.
    @Test func aNodeHoldingOnlyOneOfThemKeepsThemApart() {
        let nodes = [node([llama, coder]), node([llama])]
        #expect(SharedRunners.aliases(nodes: nodes, facts: described) == [:])
    }

    /// Another automatic context length is a reload to Ollama, not the same runner.
    @Test func anotherModelfileLengthOrAdapterIsAnotherRunner() {
        var described = self.described
        described["sha256:coding-assistant:latest"] = facts("FROM /blobs/sha256-llama", numCtx: 16384)
        described["sha256:tutor:latest"] = facts("FROM /blobs/sha256-llama\nADAPTER /blobs/sha256-tutor")
        #expect(SharedRunners.aliases(nodes: [node([llama, coder, tutor])], facts: described) == [:])
    }

    /// A node that describes every model with the same files (no Ollama does) groups nothing whose
    /// sizes say they are different weights.
    @Test func modelsOfDifferentSizesAreNeverOneRunner() {
        var described = self.described
        described["sha256:phi3:latest"] = facts("FROM /blobs/sha256-llama")
        var farm = node([llama, coder, phi])
        #expect(SharedRunners.aliases(nodes: [farm], facts: described) == [llama: coder])
        // A system prompt and a template are a few kilobytes beside the weights.
        farm.sizes[coder] = 2_019_004_096
        #expect(SharedRunners.aliases(nodes: [farm], facts: described) == [llama: coder])
    }

    @Test func aModelWhoseFilesAreNotKnownIsPlacedAlone() {
        var described = self.described
        described["sha256:tutor:latest"] = ModelContextFacts(modelfileLength: nil, trainedLength: nil)
        #expect(SharedRunners.aliases(nodes: [node([llama, coder, tutor])], facts: described) == [llama: coder])
    }

    /// Requests and probes alike: a runner `/api/ps` lists under either name is the group's.
    @Test func theClusterPlacesAndProbesUnderTheLeadName() async {
        let cluster = Cluster(nodes: [ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)])
        for (model, facts) in described { cluster.recordDescription(facts, key: model) }
        await cluster.nodes[0].apply(
            ProbeReport(
                pulled: [llama, coder].map {
                    PulledModel(name: $0, displayName: $0.canonical, sizeBytes: 2_000_000_000, digest: "sha256:" + $0.canonical)
                },
                loaded: []),
            outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        await cluster.nodes[0].setHealth(.healthy)
        #expect(await cluster.refreshRunnerAliases() == [llama: coder])
        #expect(cluster.runnerModel(llama) == coder)
        #expect(cluster.runnerModel(phi) == phi)
        #expect(cluster.modelsSharingRunners() == [coder: [llama]])
        let report = ProbeReport(
            pulled: [], loaded: [LoadedModel(name: llama, sizeBytes: 2_000_000_000, vramBytes: 2_000_000_000, expiresAt: nil)])
        #expect(cluster.withRunnerNames(report).loaded.map(\.name) == [coder])
        // Nothing new the second time.
        #expect(await cluster.refreshRunnerAliases() == [:])
    }
}
