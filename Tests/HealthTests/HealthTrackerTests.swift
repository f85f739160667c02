import Balancer
import Testing

@testable import Health

@Suite struct HealthTrackerTests {
    @Test func firstSuccessMakesAnUnknownNodeHealthy() {
        var tracker = HealthTracker(unhealthyAfter: 2, healthyAfter: 3)
        #expect(tracker.record(success: true) == .healthy)
    }

    @Test func leavesServiceOnlyAfterConsecutiveFailures() {
        var tracker = HealthTracker(unhealthyAfter: 2, healthyAfter: 1)
        _ = tracker.record(success: true)
        #expect(tracker.record(success: false) == nil)
        #expect(tracker.record(success: true) == nil)
        #expect(tracker.record(success: false) == nil)
        #expect(tracker.record(success: false) == .unhealthy)
        #expect(tracker.record(success: false) == nil)
    }

    @Test func returnsAfterHealthyAfterSuccesses() {
        var tracker = HealthTracker(unhealthyAfter: 1, healthyAfter: 2)
        _ = tracker.record(success: false)
        #expect(tracker.state == .unhealthy)
        #expect(tracker.record(success: true) == nil)
        #expect(tracker.record(success: true) == .healthy)
    }
}

@Suite struct ProbeDecodingTests {
    @Test func readsTagsAndPs() throws {
        let tags = #"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","size":2019393189,"digest":"abc","details":{}}]}"#
        let ps =
            #"{"models":[{"name":"Mistral:latest","model":"mistral:latest","size":5137025024,"digest":"d","expires_at":"2024-06-04T14:38:31.83753-07:00","size_vram":4000000000}]}"#
        let pulled = try ProbeDecoding.pulledModels(from: Array(tags.utf8))
        #expect(pulled.map(\.name.canonical) == ["llama3.2:latest"])
        #expect(pulled[0].sizeBytes == 2_019_393_189)
        let loaded = try ProbeDecoding.loadedModels(from: Array(ps.utf8))
        #expect(loaded[0].name.canonical == "mistral:latest")
        #expect(loaded[0].vramBytes == 4_000_000_000)
        #expect(loaded[0].expiresAt == 1_717_537_111.83753)
        #expect(try ProbeDecoding.loadedModels(from: Array(#"{"models":[]}"#.utf8)).isEmpty)
        #expect(throws: ProbeFailure.self) { try ProbeDecoding.loadedModels(from: Array("<html>".utf8)) }
    }

    @Test(arguments: [
        ("2024-06-04T21:38:31Z", 1_717_537_111.0),
        ("2024-06-04T21:38:31.5Z", 1_717_537_111.5),
        ("2024-06-04T14:38:31.83753-07:00", 1_717_537_111.83753),
        ("2024-06-05T03:08:31.123456789+05:30", 1_717_537_111.123456789),
        ("2318-01-01T00:00:00Z", 10_981_785_600.0),
    ])
    func parsesGoTimestamps(text: String, seconds: Double) throws {
        let parsed = try #require(RFC3339.parse(text))
        #expect(abs(parsed - seconds) < 0.000_01)
    }

    @Test(arguments: ["", "2024-06-04", "2024-13-04T21:38:31Z", "2024-06-04T21:38:31", "2024-06-04T21:38:31.Z"])
    func refusesMalformedTimestamps(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
