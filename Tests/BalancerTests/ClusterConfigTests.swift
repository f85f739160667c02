import Foundation
import Testing

@testable import Balancer

@Suite struct ClusterConfigTests {
    static let issueExample = """
        {
          "listen": { "host": "127.0.0.1", "port": 8000 },
          "apiKeys": [ { "name": "default", "key": "gw_change_me" } ],
          "strategy": "affinity",
          "health": { "intervalMs": 2000, "timeoutMs": 1000, "unhealthyAfter": 2, "healthyAfter": 1 },
          "nodes": [ { "name": "local", "url": "http://localhost:11434", "weight": 100, "priority": 0, "maxParallel": 4 } ],
          "cloud": [ { "name": "openai", "url": "https://api.openai.com/v1", "apiKeyEnv": "OPENAI_API_KEY", "models": ["gpt-4o"], "weight": 100, "priority": 1 } ],
          "routes": { "gpt-4": [ { "target": "ollama/llama3.1:70b", "weight": 80, "priority": 0 }, { "target": "openai/gpt-4", "weight": 20, "priority": 1 } ] }
        }
        """

    @Test func parsesTheDocumentedExample() throws {
        let config = try ClusterConfig.parse(Array(Self.issueExample.utf8))
        #expect(config.listen.port == 8000)
        #expect(config.apiKeys == [.init(name: "default", key: "gw_change_me")])
        #expect(config.nodes.count == 1)
        #expect(config.nodes[0].url == NodeURL("http://localhost:11434"))
        #expect(config.nodes[0].maxParallel == 4)
        #expect(config.cloud[0].apiKeyEnv == "OPENAI_API_KEY")
        #expect(config.routes["gpt-4"]?.map(\.weight) == [80, 20])
        #expect(config.health.unhealthyAfter == 2)
    }

    @Test func numCtxIsExactUnlessTheFileSaysAtLeast() throws {
        #expect(try ClusterConfig.parse(Array(#"{"nodes":[]}"#.utf8)).numCtx == .exact)
        #expect(try ClusterConfig.parse(Array(#"{"numCtx":"atLeast"}"#.utf8)).numCtx == .atLeast)
    }

    @Test func theShippedClusterJSONIsValid() throws {
        let path = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        let bytes = try #require(FileManagerShim.read("/" + path + "/cluster.json"))
        let config = try ClusterConfig.parse(bytes)
        #expect(!config.nodes.isEmpty)
    }

    @Test(arguments: [
        (#"{"nodes":[],"extra":1}"#, "extra: unknown key"),
        (#"{"nodes":[{"name":"a","url":"http://a:1","wieght":3}]}"#, "nodes[0].wieght: unknown key"),
        (#"{"nodes":[{"name":"a","url":"ftp://a"}]}"#, "nodes[0].url: must be an http://host:port URL"),
        (#"{"nodes":[{"name":"a","url":"http://a:99999"}]}"#, "nodes[0].url: must be an http://host:port URL"),
        (#"{"nodes":[{"name":"a","url":"http://u:p@a:1"}]}"#, "nodes[0].url: must not carry credentials (user:password@ before the host)"),
        (#"{"nodes":[{"name":"a","url":"http://a:1"},{"name":"a","url":"http://b:1"}]}"#, "nodes[1].name: duplicate node name \"a\""),
        (#"{"nodes":[{"name":"a","url":"http://a:1","weight":-1}]}"#, "nodes[0].weight: must be at least 0, got -1"),
        (#"{"nodes":[{"name":"a","url":"http://a:1","maxParallel":0}]}"#, "nodes[0].maxParallel: must be at least 1, got 0"),
        (#"{"strategy":"fastest"}"#, "strategy: unknown strategy \"fastest\""),
        (#"{"numCtx":"longest"}"#, "numCtx: unknown policy \"longest\" (one of: exact, atLeast)"),
        (#"{"numCtx":true}"#, "numCtx: expected a string, got"),
        (#"{"health":{"intervalMs":"2s"}}"#, "health.intervalMs: expected a whole number, got string"),
        (#"{"listen":{"port":70000}}"#, "listen.port: must be at most 65535, got 70000"),
        (#"{"routes":{"gpt-4":[]}}"#, "routes.gpt-4: must list at least one target"),
        (#"{"cloud":[{"name":"x","url":"ftp://x"}]}"#, "cloud[0].url: must be an https:// URL"),
        (#"{"nodes":[{"url":"http://a:1"}]}"#, "nodes[0].name: is required"),
        (#"[1]"#, ": expected an object"),
        (#"{"#, "invalid JSON"),
    ])
    func refusesMistakesNamingTheField(json: String, expected: String) {
        do {
            _ = try ClusterConfig.parse(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            let text = error.description
            #expect(text.contains(expected.hasPrefix(":") ? String(expected.dropFirst(2)) : expected), "\(text)")
        }
    }

    @Test(arguments: [
        (#"{"cloud":[{"name":"x","url":"https://user:sk-secret@api.example.com/v1"}]}"#, "must not carry credentials"),
        (#"{"cloud":[{"name":"x","url":"https://api.example.com/v1?key=sk-secret"}]}"#, "must not have a query or fragment"),
        (#"{"cloud":[{"name":"x","url":"https://api.example.com/v1#sk-secret"}]}"#, "must not have a query or fragment"),
        (#"{"nodes":[{"name":"a","url":"http://admin:sk-secret@gpu1:11434"}]}"#, "must not carry credentials"),
        (#"{"nodes":[{"name":"a","url":"http://gpu1:11434/?token=sk-secret"}]}"#, "must not have a query or fragment"),
    ])
    func refusesURLsCarryingSecretsWithoutShowingThem(json: String, expected: String) {
        do {
            _ = try ClusterConfig.parse(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
            #expect(!error.description.contains("sk-secret"), "\(error.description)")
        }
    }

    @Test func readsPlacementSettings() throws {
        let config = try ClusterConfig.parse(
            Array(
                """
                {"queue":{"maxLength":5,"maxWaitMs":1500},"keepAlive":"30m","warm":{"llama3.2":2},"replicate":false,"usageLog":"/var/log/tw.jsonl",
                 "nodes":[{"name":"a","url":"http://a:1","vramGB":24,"maxLoadedModels":2}],
                 "cloud":[{"name":"openai","url":"https://api.openai.com/v1","apiKeyEnv":"OPENAI_API_KEY","models":["gpt-4o"]}],
                 "routes":{"gpt-4":{"strategy":"weighted","targets":[{"target":"ollama/llama3.1:70b","weight":80},{"target":"openai/gpt-4","weight":20,"priority":1}]}}}
                """.utf8))
        #expect(config.queue == .init(maxLength: 5, maxWaitMs: 1500))
        #expect(config.keepAlive == "30m")
        #expect(config.warm == ["llama3.2": 2])
        #expect(config.replicate == false)
        #expect(config.usageLog == "/var/log/tw.jsonl")
        #expect(ClusterConfig().replicate)
        #expect(config.nodes[0].vramGB == 24)
        #expect(config.nodes[0].maxLoadedModels == 2)
        #expect(config.routeStrategies["gpt-4"] == .weighted)
        #expect(config.routes["gpt-4"]?.map(\.target) == ["ollama/llama3.1:70b", "openai/gpt-4"])
    }

    @Test(arguments: [
        (#"{"keepAlive":"300"}"#, "keepAlive: must be a number of seconds or a duration"),
        (#"{"keepAlive":true}"#, "keepAlive: must be a number of seconds or a duration"),
        (#"{"queue":{"maxLength":-1}}"#, "queue.maxLength: must be at least 0"),
        (#"{"timeouts":{"stuckLoadMs":-1}}"#, "timeouts.stuckLoadMs: must be at least 0"),
        (#"{"timeouts":{"stuckLoadMs":"1m"}}"#, "timeouts.stuckLoadMs: expected a whole number"),
        (#"{"warm":{"llama3.2":"two"}}"#, "warm.llama3.2: expected a whole number"),
        (#"{"replicate":"yes"}"#, "replicate: expected true or false"),
        (#"{"apiKeys":[{"name":"a","sha256":"abc"}]}"#, "apiKeys[0].sha256: must be 64 hex digits"),
        (#"{"apiKeys":[{"name":"a","key":"k","sha256":"abc"}]}"#, "apiKeys[0]: give key or sha256, not both"),
        (#"{"adminKeys":[{"name":"a"}]}"#, "adminKeys[0].key: is required (or sha256)"),
        (
            #"{"apiKeys":[{"name":"a","key":"k"},{"name":"b","sha256":"8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a"}]}"#,
            "apiKeys[1]: the same key is listed twice"
        ),
        (#"{"routes":{"x":{"strategy":"fastest","targets":[{"target":"ollama/a"}]}}}"#, "routes.x.strategy: unknown strategy"),
        (#"{"routes":{"x":{"targets":[]}}}"#, "routes.x.targets: must list at least one target"),
    ])
    func refusesBadPlacementSettings(json: String, expected: String) {
        #expect(throws: ConfigError.self) { try ClusterConfig.parse(Array(json.utf8)) }
        do { _ = try ClusterConfig.parse(Array(json.utf8)) } catch { #expect(error.description.contains(expected), "\(error)") }
    }

    @Test func ollamaAPIURLReplacesTheNodeList() throws {
        var config = try ClusterConfig.parse(Array(Self.issueExample.utf8))
        try config.applyEnvironment(["OLLAMA_API_URL": "http://gpu-server:11434"])
        #expect(config.nodes.map(\.name) == ["ollama"])
        #expect(config.nodes[0].url.host == "gpu-server")
        #expect(config.nodes[0].url.port == 11434)
        #expect(throws: ConfigError.self) { try config.applyEnvironment(["OLLAMA_API_URL": "gpu-server"]) }
        #expect(throws: ConfigError("OLLAMA_API_URL", "must not carry credentials (user:password@ before the host); the URL is not shown"))
        {
            try config.applyEnvironment(["OLLAMA_API_URL": "http://admin:sk-secret@gpu-server:11434"])
        }
    }

    @Test func allowedOriginsAreReadFromTheFileAndFromOllamasVariable() throws {
        var config = try ClusterConfig.parse(Array(#"{"allowedOrigins":["https://chat.example.com","chrome-extension://*"]}"#.utf8))
        #expect(config.allowedOrigins == ["https://chat.example.com", "chrome-extension://*"])
        try config.applyEnvironment(["OLLAMA_ORIGINS": "https://a.example, *"])
        #expect(config.allowedOrigins == ["https://chat.example.com", "chrome-extension://*", "https://a.example", "*"])
        #expect(
            throws: ConfigError(
                "OLLAMA_ORIGINS",
                #""example.com" must be "*" or an origin with its scheme, like "https://chat.example.com" or "chrome-extension://*""#)
        ) {
            try config.applyEnvironment(["OLLAMA_ORIGINS": "example.com"])
        }
    }

    @Test(arguments: [
        (#"{"allowedOrigins":"*"}"#, "allowedOrigins: expected an array"),
        (#"{"allowedOrigins":[""]}"#, "allowedOrigins[0]: must not be empty"),
        (#"{"allowedOrigins":["chat.example.com"]}"#, "allowedOrigins[0]: must be \"*\" or an origin with its scheme"),
        (#"{"allowedOrigins":["https://a.example,https://b.example"]}"#, "allowedOrigins[0]: lists one origin per entry"),
        (#"{"allowedOrigins":["https://chat.example.com/"]}"#, "allowedOrigins[0]: has a path"),
        (#"{"allowedOrigins":["https://*.example.*"]}"#, "allowedOrigins[0]: may hold at most one"),
        (#"{"allowedOrigins":["https://ok.example","htt ps://x"]}"#, "allowedOrigins[1]: must not contain spaces"),
    ])
    func refusesOriginsNoBrowserSends(json: String, expected: String) {
        do {
            _ = try ClusterConfig.parse(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch { #expect(error.description.contains(expected), "\(error)") }
    }

    @Test(arguments: [
        ("http://localhost:11434", "localhost", 11434, ""),
        ("http://gpu1", "gpu1", 80, ""),
        ("http://10.0.0.5:8080/ollama/", "10.0.0.5", 8080, "/ollama"),
        ("http://[::1]:11434", "::1", 11434, ""),
    ])
    func parsesNodeURLs(text: String, host: String, port: Int, base: String) throws {
        let url = try #require(NodeURL(text))
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.basePath == base)
    }
}

enum FileManagerShim {
    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }
}

@Suite struct RoutePlanTests {
    let config = try! ClusterConfig.parse(Array(ClusterConfigTests.issueExample.utf8))

    @Test func resolvesTheSeedsHybridRoute() {
        let plan = RoutePlan.resolve("gpt-4", config: config)
        #expect(plan.route == "gpt-4")
        #expect(plan.targets.map(\.destination) == [.farm(model: "llama3.1:70b"), .cloud(endpoint: 0, model: "gpt-4")])
        #expect(plan.targets.map(\.weight) == [80, 20])
        #expect(plan.targets.map(\.priority) == [0, 1])
    }

    @Test func bareNamesTryTheFarmThenCloudEndpointsThatListThem() {
        #expect(RoutePlan.resolve("llama3.2", config: config).targets.map(\.destination) == [.farm(model: "llama3.2")])
        #expect(RoutePlan.resolve("ollama/gpt-4o", config: config).targets.map(\.destination) == [.farm(model: "gpt-4o")])
        #expect(
            RoutePlan.resolve("gpt-4o", config: config).targets.map(\.destination) == [
                .farm(model: "gpt-4o"), .cloud(endpoint: 0, model: "gpt-4o"),
            ])
        #expect(
            RoutePlan.resolve("openai/gpt-4o-mini", config: config).targets.map(\.destination) == [
                .cloud(endpoint: 0, model: "gpt-4o-mini")
            ])
        #expect(RoutePlan.resolve("myteam/coder:7b", config: config).targets.map(\.destination) == [.farm(model: "myteam/coder:7b")])
    }

    @Test func weightedSendsAboutAFifthOfTheHybridRouteToTheCloud() {
        var plan = RoutePlan.resolve("gpt-4", config: config)
        plan.strategy = .weighted
        var random = SeededGenerator(state: 5)
        var cloudFirst = 0
        for _ in 0..<5000 where plan.attemptOrder(rotation: 0, using: &random).first?.priority == 1 { cloudFirst += 1 }
        #expect((900...1100).contains(cloudFirst), "\(cloudFirst)")
    }

    @Test func affinityTriesTheCloudTierOnlyAfterTheFarm() {
        let plan = RoutePlan.resolve("gpt-4", config: config)
        var random = SeededGenerator(state: 5)
        for _ in 0..<100 { #expect(plan.attemptOrder(rotation: 0, using: &random).map(\.priority) == [0, 1]) }
    }

    @Test func roundRobinRotatesOverTargetsInPriorityOrder() {
        var plan = RoutePlan.resolve("gpt-4", config: config)
        plan.strategy = .roundRobin
        var random = SeededGenerator(state: 5)
        #expect((0..<4).map { plan.attemptOrder(rotation: $0, using: &random).first!.priority } == [0, 1, 0, 1])
    }
}
