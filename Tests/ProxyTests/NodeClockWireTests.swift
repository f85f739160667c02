import Foundation
import Testing
import WireFormats

@testable import Proxy

/// A node's clock that is off TensorWall's: Ollama writes when a runner unloads on its own clock, and
/// TensorWall reads it on its own, by the `Date` of the node's answer.
@Suite(.stopsFarms) struct NodeClockWireTests {
    /// When `/status` says the node's only runner unloads, in seconds from now, once a probe has seen it.
    func secondsUntilExpiry(_ farm: TestFarm) async throws -> Double {
        var ahead: Double?
        #expect(
            await farm.eventually {
                let status = try? await farm.json("GET", "/status").body
                ahead = status?["nodes"]?[0]?["loadedModels"]?[0]?["expiresAt"]?.stringValue.flatMap(RFC3339.parse).map {
                    $0 - Date().timeIntervalSince1970
                }
                return ahead != nil
            })
        return try #require(ahead)
    }

    @Test func aRunnersExpiryIsReadOnTensorWallsClockWhenTheNodesRunsAhead() async throws {
        // Keep-alive 300 s on a clock 10 minutes ahead: the node writes an expiry 15 minutes off.
        // Read as it stands, a runner keep-alive unloaded would look like one Ollama unloaded to make
        // room for a load, and the node's VRAM would be planned that much smaller.
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2"], preload: ["llama3.2"], keepAliveSeconds: 300_000, clockOffsetSeconds: 600)
        ])
        try await farm.waitUntilAllHealthy()
        let seconds = try await secondsUntilExpiry(farm)
        #expect(seconds > 290 && seconds <= 302, "\(seconds)")
    }

    @Test func aClockThatAgreesLeavesTheExpiryAsTheNodeWroteIt() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2"], preload: ["llama3.2"], keepAliveSeconds: 300_000)])
        try await farm.waitUntilAllHealthy()
        let seconds = try await secondsUntilExpiry(farm)
        #expect(seconds > 290 && seconds <= 302, "\(seconds)")
    }
}
