import Balancer
import HTTP1
import Testing

@testable import Proxy

/// Failures on proxied requests eject a node even while its probes pass; "server busy" does not.
@Suite(.stopsFarms) struct PassiveHealthTests {
    @Test func aNodeFailingRequestsIsEjectedWhileItsProbesStillPass() async throws {
        let logs = LogCapture()
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm], logs: logs)
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.error500)  // inference fails, /api/tags and /api/ps still answer
        // Placement breaks ties at random, so send until node 0 has failed three times; each
        // failure is retried on node 1, so every client request succeeds.
        var sent = 0
        while farm.nodes[0].requestCount("/api/chat") < 3 && sent < 100 {
            #expect(try await farm.chat().status == 200)
            sent += 1
        }
        for _ in 0..<10 { #expect(try await farm.chat().status == 200) }
        #expect(farm.nodes[0].requestCount("/api/chat") == 3)  // three failures, then ejected: no more traffic
        #expect(await farm.health(of: 0) == .healthy)  // the probes still pass
        let status = try await farm.json("GET", "/status").body
        #expect(status["nodes"]?[0]?["ejectedForSeconds"]?.doubleValue ?? 0 > 0)
        #expect(logs.text.contains("node node0 ejected"))
    }

    @Test func serverBusyCoolsANodeDownWithoutEjectingIt() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm]) { $0.outlier.busyCooldownMs = 200 }
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.busy503)
        for _ in 0..<10 { #expect(try await farm.chat().status == 200) }
        #expect(farm.gateway.cluster.passiveHealth("node0").ejectedUntil == nil)
        farm.nodes[0].setFault(.none)
        #expect(await farm.eventually { !farm.gateway.cluster.passiveHealth("node0").coolingDown })
        // Back in rotation after the cool-down. Two idle warm nodes split requests at random (ten
        // chats all missed it one time in a thousand), and on a stalled host a probe may time out
        // and take the node out for a moment: chat until one reaches it, within the usual limit.
        let before = farm.nodes[0].requestCount("/api/chat")
        let reached = await farm.eventually {
            _ = try? await farm.chat()
            return farm.nodes[0].requestCount("/api/chat") > before
        }
        #expect(reached)
    }

    @Test func retriesStopAtMaxRetries() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm, warm]) { $0.maxRetries = 1 }
        try await farm.waitUntilAllHealthy()
        for node in farm.nodes { node.setFault(.error500) }
        let answer = try await farm.chat()
        #expect(answer.status == 500)
        #expect(farm.nodes.map { $0.requestCount("/api/chat") }.reduce(0, +) == 2)  // the first try and one retry
    }
}
