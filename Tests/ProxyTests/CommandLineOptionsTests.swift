import APITranslation
import Balancer
import Testing
import WireFormats

@testable import Proxy

@Suite(.stopsFarms) struct CommandLineOptionsTests {
    @Test func parsesFlags() throws {
        let options = try CommandLineOptions.parse(["--config", "/etc/tw.json", "--host=0.0.0.0", "--port", "9000", "--log-level", "debug"])
        #expect(options.configPath == "/etc/tw.json")
        #expect(options.host == "0.0.0.0")
        #expect(options.port == 9000)
        #expect(options.logLevel == "debug")
        #expect(try CommandLineOptions.parse(["check-config", "x.json"]).action == .checkConfig("x.json"))
        #expect(try CommandLineOptions.parse([]).configPath == "cluster.json")
    }

    @Test(arguments: [["--port", "70000"], ["--port"], ["--frobnicate"], ["--log-level", "loud"], ["check-config"]])
    func refusesBadFlags(arguments: [String]) {
        #expect(throws: CommandLineOptions.UsageError.self) { try CommandLineOptions.parse(arguments) }
    }
}

/// The default keep_alive reaches the node in a native request's own bytes.
@Suite(.stopsFarms) struct NativeKeepAliveTests {
    @Test func nativeRequestsGetTheDefaultKeepAliveAndKeepTheirModelName() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.keepAlive = "30m" }
        try await farm.waitUntilAllHealthy()
        _ = try await farm.text("POST", "/api/generate", body: #"{"model":"llama3.2","prompt":"x","stream":false}"#)
        let sent = farm.nodes[0].lastAnswerBody("/api/generate")
        #expect(sent?["keep_alive"] == "30m")
        #expect(sent?["model"] == "llama3.2")
    }
}
