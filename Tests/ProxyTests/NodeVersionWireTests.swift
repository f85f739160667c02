import Testing
import WireFormats

@testable import Proxy

/// Each node's Ollama version in `/status`, read from `/api/version` by the probes: a farm is upgraded
/// node by node, and the operator needs to see which nodes run what.
@Suite(.stopsFarms) struct NodeVersionWireTests {
    @Test func statusShowsEachNodesOllamaVersion() async throws {
        let farm = try await TestFarm.start([.init(version: "0.12.10"), .init(version: "0.13.1-rc0")])
        try await farm.waitUntilAllHealthy()
        var versions: [String?] = []
        #expect(
            await farm.eventually {
                let nodes = (try? await farm.json("GET", "/status").body)?["nodes"]?.arrayValue ?? []
                versions = nodes.map { $0["ollamaVersion"]?.stringValue }
                return versions == ["0.12.10", "0.13.1-rc0"]
            }, "\(versions)")
    }

    @Test func aNodeWithoutAVersionRouteIsHealthyAndShownWithoutOne() async throws {
        // A proxy in front of Ollama, or a server that speaks only the inference API.
        let farm = try await TestFarm.start([.init(absentPaths: ["/api/version"])])
        try await farm.waitUntilAllHealthy()
        let node = try await farm.json("GET", "/status").body["nodes"]?[0]
        #expect(node?["health"] == "healthy")
        #expect(node?["ollamaVersion"] == .null)
    }
}
