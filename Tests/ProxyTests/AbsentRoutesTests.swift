import Balancer
import Testing

@testable import Proxy

/// A node found to have no route for a path is left out on that path alone, for a while: an
/// upgraded Ollama is tried again.
struct AbsentRoutesTests {
    @Test func aNodeIsLeftOutOnThatPathUntilItIsTriedAgain() {
        let routes = AbsentRoutes()
        #expect(routes.nodes(lacking: "/v1/messages", now: 0).isEmpty)
        routes.remember("gpu0", lacks: "/v1/messages", now: 100)
        routes.remember("gpu1", lacks: "/v1/responses", now: 100)
        #expect(routes.nodes(lacking: "/v1/messages", now: 101) == ["gpu0"])
        #expect(routes.nodes(lacking: "/v1/responses", now: 101) == ["gpu1"])
        #expect(routes.nodes(lacking: "/api/chat", now: 101).isEmpty)
        let expiry = 100 + AbsentRoutes.rememberedSeconds
        #expect(routes.nodes(lacking: "/v1/messages", now: expiry - 1) == ["gpu0"])
        #expect(routes.nodes(lacking: "/v1/messages", now: expiry + 1).isEmpty)
    }
}
