import Testing

@testable import Balancer

/// The conversation map keeps the newest conversations within its bound and forgets the oldest.
struct ConversationMapTests {
    @Test func aConversationsLatestNodeIsRemembered() {
        var map = ConversationMap(capacity: 10)
        map.remember(1, node: "gpu-a")
        #expect(map.node(for: 1) == "gpu-a")
        map.remember(1, node: "gpu-b")
        #expect(map.node(for: 1) == "gpu-b")
        #expect(map.node(for: 2) == nil)
    }

    @Test func theNewestHalfIsAlwaysKeptAndNothingPastTheCapacity() {
        var map = ConversationMap(capacity: 10)
        for key in UInt64(1)...1000 {
            map.remember(key, node: NodeID("n\(key)"))
            #expect(map.count <= 10)
            // The newest five are always there, with their own node.
            for recent in (key > 4 ? key - 4 : 1)...key { #expect(map.node(for: recent) == NodeID("n\(recent)")) }
        }
        // Everything older than the capacity is gone.
        #expect((UInt64(1)...990).allSatisfy { map.node(for: $0) == nil })
    }

    @Test func aConversationThatGoesOnIsKeptPastTheOnesThatStopped() {
        var map = ConversationMap(capacity: 10)
        map.remember(1, node: "gpu-a")
        for key in UInt64(100)..<200 {
            map.remember(key, node: "gpu-b")
            if key % 4 == 0 { map.remember(1, node: "gpu-c") }  // its next turn, now and then
        }
        #expect(map.node(for: 1) == "gpu-c")
        #expect(map.node(for: 100) == nil)
    }
}
