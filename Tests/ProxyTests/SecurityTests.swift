import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Keys stored as hashes, the admin key on operator routes, and no secret in any output.
@Suite(.stopsFarms) struct SecurityTests {
    static let adminKey = "adm_operator_secret_42"

    @Test func aKeyStoredAsItsSHA256LetsTheKeyIn() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { config in
            config.apiKeys = [.init(name: "hashed", sha256: SHA256.digest(Array("gw_only_the_hash_is_stored".utf8)))]
        }
        try await farm.waitUntilAllHealthy()
        let body = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
        let allowed = try await farm.json(
            "POST", "/v1/chat/completions", body: body, headers: ["Authorization": "Bearer gw_only_the_hash_is_stored"])
        #expect(allowed.status == 200)
        let refused = try await farm.json(
            "POST", "/v1/chat/completions", body: body, headers: ["Authorization": "Bearer gw_only_the_hash_is_store"])
        #expect(refused.status == 401)
        #expect(refused.body["error"]?["code"] == "invalid_api_key")
    }

    @Test func operatorRoutesNeedTheAdminKeyWhenOneIsSet() async throws {
        let farm = try await TestFarm.start([.init()]) { $0.adminKeys = [.init(name: "ops", key: Self.adminKey)] }
        for path in ["/status", "/metrics", "/dashboard"] {
            let anonymous = try await farm.text("GET", path, headers: [:])
            #expect(anonymous.status == 401, "\(path)")
            #expect(anonymous.headers["WWW-Authenticate"]?.hasPrefix("Basic realm=") == true)
            let gatewayKey = try await farm.text("GET", path, headers: ["X-API-Key": TestFarm.key])
            #expect(gatewayKey.status == 401, "a gateway key is not an admin key: \(path)")
            let bearer = try await farm.text("GET", path, headers: ["Authorization": "Bearer \(Self.adminKey)"])
            #expect(bearer.status == 200, "\(path)")
            let basic = "Basic " + Base64.encode(Array("anyone:\(Self.adminKey)".utf8))
            #expect(try await farm.text("GET", path, headers: ["Authorization": basic]).status == 200, "\(path)")
        }
        #expect(try await farm.text("GET", "/healthz", headers: [:]).status == 200)
    }

    @Test func withAdminKeysAPullNeedsOneAndAGatewayKeyReachesNoNode() async throws {
        let spec = TestFarm.NodeSpec(registry: ["phi3"])
        let farm = try await TestFarm.start([spec, spec]) { $0.adminKeys = [.init(name: "ops", key: Self.adminKey)] }
        try await farm.waitUntilAllHealthy()
        let pull = #"{"model":"phi3","stream":false}"#
        let gatewayKey = try await farm.json("POST", "/api/pull", body: pull)
        #expect(gatewayKey.status == 403)
        #expect(gatewayKey.body["error"]?.stringValue?.contains("admin key") == true)
        let anonymous = try await farm.json("POST", "/api/pull", body: pull, headers: ["Content-Type": "application/json"])
        #expect(anonymous.status == 401)
        let wrong = try await farm.json("POST", "/api/pull", body: pull, headers: ["X-API-Key": "adm_guess"])
        #expect(wrong.status == 401)
        let blob = "/api/blobs/sha256:" + String(repeating: "0", count: 64)
        let changes = [("POST", "/api/push"), ("POST", "/api/create"), ("POST", "/api/copy"), ("DELETE", "/api/delete"), ("POST", blob)]
        for (method, path) in changes {
            #expect(try await farm.json(method, path, body: pull).status == 403, "\(path)")
        }
        // Refused before any node saw it.
        #expect(farm.nodes.allSatisfy { node in changes.allSatisfy { node.requestCount($0.1) == 0 } })

        let admin = try await farm.json("POST", "/api/pull", body: pull, headers: ["Authorization": "Bearer \(Self.adminKey)"])
        #expect(admin.status == 200)
        #expect(admin.body == ["status": "success"])
        #expect(farm.nodes.allSatisfy { $0.requestCount("/api/pull") == 1 })
        // Inference still takes the gateway key.
        #expect(try await farm.json("GET", "/api/tags").status == 200)
    }

    @Test func noSecretAppearsInLogsErrorsStatusOrMetrics() async throws {
        let cloudSecret = "sk-cloud-secret-never-shown-987"
        var cloudConfiguration = SimulatorConfiguration(name: "cloud", models: [SimulatedModel("gpt-4o", sizeGB: 1)])
        cloudConfiguration.timeScale = 0.001
        let cloud = OllamaSimulator(cloudConfiguration)
        let cloudPort = try cloud.start()
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], environment: ["CLOUD_KEY": cloudSecret], logs: logs) { config in
            config.adminKeys = [.init(name: "ops", key: Self.adminKey)]
            config.cloud = [.init(name: "cloud", url: "http://127.0.0.1:\(cloudPort)/v1", apiKeyEnv: "CLOUD_KEY", models: ["gpt-4o"])]
        }
        Teardown.add { cloud.stop() }
        try await farm.waitUntilAllHealthy()
        var seen = ""
        let admin: HTTPHeaders = ["Authorization": "Bearer \(Self.adminKey)"]
        let chat = #"{"model":"cloud/gpt-4o","messages":[{"role":"user","content":"hi"}]}"#
        seen += try await farm.text("POST", "/v1/chat/completions", body: chat).body
        cloud.setFault(.error500)
        seen += try await farm.text("POST", "/v1/chat/completions", body: chat).body
        cloud.stop()
        seen += try await farm.text("POST", "/v1/chat/completions", body: chat).body
        seen += try await farm.text("POST", "/v1/chat/completions", body: chat, headers: ["Authorization": "Bearer \(Self.adminKey)x"]).body
        seen += try await farm.text(
            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[]}"#, headers: ["X-API-Key": "gw_wrong_\(TestFarm.key)"]
        ).body
        seen += try await farm.text("GET", "/status", headers: admin).body
        seen += try await farm.text("GET", "/metrics", headers: admin).body
        seen += try await farm.text("GET", "/status", headers: [:]).body
        seen += logs.text
        for secret in [cloudSecret, TestFarm.key, Self.adminKey] {
            #expect(!seen.contains(secret), "\(secret) leaked")
        }
        #expect(cloud.lastAuthorization("/v1/chat/completions") == "Bearer \(cloudSecret)")  // it did reach the cloud
    }
}
