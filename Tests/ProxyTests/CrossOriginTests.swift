import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// Browser pages calling TensorWall: Ollama's CORS rules on the wire, through a real server.
@Suite(.stopsFarms) struct CrossOriginTests {
    static let chat = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}"#

    private func headers(origin: String, key: Bool = true, _ more: [(String, String)] = []) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Origin": origin, "Content-Type": "application/json"]
        if key { headers.add("Authorization", "Bearer \(TestFarm.key)") }
        for (name, value) in more { headers.add(name, value) }
        return headers
    }

    @Test func aConfiguredPageStreamsAChatAndReadsItsErrors() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.allowedOrigins = ["https://chat.example.com"] }
        try await farm.waitUntilAllHealthy()
        let page = "https://chat.example.com"
        let stream = try await farm.text("POST", "/v1/chat/completions", body: Self.chat, headers: headers(origin: page))
        #expect(stream.status == 200)
        #expect(stream.headers["Content-Type"] == "text/event-stream")
        #expect(stream.headers["Access-Control-Allow-Origin"] == page)
        #expect(stream.headers["Vary"] == "Origin")
        #expect(stream.headers["Access-Control-Expose-Headers"] == "Retry-After")
        #expect(stream.body.hasSuffix("data: [DONE]\n\n"))
        // The page is told why its key failed: a 401 without the header would reach the script as a network error.
        let unkeyed = try await farm.json("POST", "/v1/chat/completions", body: Self.chat, headers: headers(origin: page, key: false))
        #expect(unkeyed.status == 401)
        #expect(unkeyed.headers["Access-Control-Allow-Origin"] == page)
        let native = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"nothing-here","messages":[]}"#, headers: headers(origin: page))
        #expect(native.status == 404)
        #expect(native.headers["Access-Control-Allow-Origin"] == page)
    }

    @Test func aPreflightFromAnAllowedPageIsAnsweredWithoutAKeyOnAnyPath() async throws {
        let farm = try await TestFarm.start([.init()]) { $0.allowedOrigins = ["https://*.example.com"] }
        let asked = [
            ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "authorization,content-type,x-custom-trace"),
        ]
        for path in ["/v1/chat/completions", "/api/chat", "/api/nothing"] {
            let preflight = try await farm.text("OPTIONS", path, headers: headers(origin: "https://team.example.com", key: false, asked))
            #expect(preflight.status == 204, "\(path)")
            #expect(preflight.body.isEmpty)
            #expect(preflight.headers["Content-Length"] == nil, "a 204 has no body to measure")
            #expect(preflight.headers["Access-Control-Allow-Origin"] == "https://team.example.com")
            #expect(preflight.headers["Access-Control-Allow-Methods"] == "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS")
            #expect(preflight.headers["Access-Control-Max-Age"] == "43200")
            let allowed = (preflight.headers["Access-Control-Allow-Headers"] ?? "").split(separator: ",").map { $0.lowercased() }
            for name in ["authorization", "content-type", "x-api-key", "x-stainless-retry-count", "x-custom-trace"] {
                #expect(allowed.contains(name), "\(name) on \(path)")
            }
        }
        // Without an Origin, OPTIONS is what it was: a method the route does not take.
        #expect(try await farm.text("OPTIONS", "/api/chat", headers: [:]).status == 405)
    }

    @Test func aPageNotListedIsRefusedBeforeItsKeyIsRead() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], logs: logs) {
            $0.allowedOrigins = ["https://chat.example.com"]
        }
        try await farm.waitUntilAllHealthy()
        let openAI = try await farm.json("POST", "/v1/chat/completions", body: Self.chat, headers: headers(origin: "https://evil.example"))
        #expect(openAI.status == 403)
        #expect(openAI.headers["Access-Control-Allow-Origin"] == nil)
        #expect(openAI.body["error"]?["message"]?.stringValue?.contains("allowedOrigins") == true)
        let native = try await farm.json("OPTIONS", "/api/chat", headers: headers(origin: "http://chat.example.com", key: false))
        #expect(native.status == 403, "the scheme is part of the origin")
        #expect(native.body["error"]?.stringValue?.contains("http://chat.example.com") == true)
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
        // The operator is told which page to list, once for both refusals, and /metrics counts them.
        #expect(logs.text.contains("refused a browser request from the page at origin https://evil.example"))
        #expect(logs.text.contains("allowedOrigins"))
        #expect(!logs.text.contains("http://chat.example.com"), "the second refusal came within the interval")
        let metrics = try await farm.text("GET", "/metrics", headers: [:])
        #expect(metrics.body.contains("tensorwall_origin_refusals_total 2"))
        // Ollama's own list: a page on localhost, any port; an editor's web view.
        for page in ["http://localhost:5173", "http://127.0.0.1", "vscode-webview://1234abcd"] {
            let answer = try await farm.json(
                "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[],"stream":false}"#, headers: headers(origin: page))
            #expect(answer.status == 200, "\(page)")
            #expect(answer.headers["Access-Control-Allow-Origin"] == page)
        }
    }

    @Test func everyPageWhenStarIsListedAndNoCheckForTheServersOwnHost() async throws {
        let open = try await TestFarm.start([.init()]) { $0.allowedOrigins = ["*"] }
        let anyPage = try await open.text("GET", "/healthz", headers: ["Origin": "https://anything.example"])
        #expect(anyPage.status == 200)
        #expect(anyPage.headers["Access-Control-Allow-Origin"] == "*")
        #expect(anyPage.headers["Vary"] == nil)
        let closed = try await TestFarm.start([.init()])
        // A page served from the host it calls is not cross-origin, whatever the list says.
        let own = try await closed.text(
            "GET", "/healthz", headers: ["Origin": "http://tensorwall.internal:8000", "Host": "tensorwall.internal:8000"])
        #expect(own.status == 200)
        #expect(own.headers["Access-Control-Allow-Origin"] == nil)
        #expect(try await closed.text("GET", "/healthz", headers: ["Origin": "https://anything.example"]).status == 403)
    }
}
