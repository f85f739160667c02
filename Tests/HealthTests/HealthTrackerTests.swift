import Balancer
import Testing

@testable import Health

@Suite struct HealthTrackerTests {
    @Test func firstSuccessMakesAnUnknownNodeHealthy() {
        var tracker = HealthTracker(unhealthyAfter: 2, healthyAfter: 3)
        #expect(tracker.record(success: true) == .healthy)
    }

    @Test func leavesServiceOnlyAfterConsecutiveFailuresAndIsSuspectBetween() {
        var tracker = HealthTracker(unhealthyAfter: 2, healthyAfter: 3)
        _ = tracker.record(success: true)
        #expect(tracker.record(success: false) == .suspect)
        #expect(tracker.wantsAnotherProbeSoon)
        // A suspect never left service: one good probe puts it back, whatever `healthyAfter` says.
        #expect(tracker.record(success: true) == .healthy)
        #expect(!tracker.wantsAnotherProbeSoon)
        #expect(tracker.record(success: false) == .suspect)
        #expect(tracker.record(success: false) == .unhealthy)
        #expect(!tracker.wantsAnotherProbeSoon)
        #expect(tracker.record(success: false) == nil)
    }

    @Test func anUnknownNodeIsNeverSuspectAndOneFailureAllowedMeansNoSuspicion() {
        var unknown = HealthTracker(unhealthyAfter: 3, healthyAfter: 1)
        #expect(unknown.record(success: false) == nil)
        #expect(!unknown.wantsAnotherProbeSoon)
        var strict = HealthTracker(unhealthyAfter: 1, healthyAfter: 1)
        _ = strict.record(success: true)
        #expect(strict.record(success: false) == .unhealthy)
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
}
