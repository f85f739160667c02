import APITranslation
import Balancer
import HTTP1
import Testing
import WireFormats

@testable import Proxy

/// The router in process, through an in-memory response writer: no socket, no node, no probe.
@Suite(.stopsFarms) struct RouterTests {
    static let gatewayKey = "gw_router_key"
    static let adminKey = "adm_router_key"

    private func gateway(admin: Bool = true, logs: LogCapture? = nil) -> Gateway {
        var config = ClusterConfig()
        config.apiKeys = [.init(name: "team", key: Self.gatewayKey)]
        if admin { config.adminKeys = [.init(name: "ops", key: Self.adminKey)] }
        let logger = logs.map { capture in Logger(minimum: .info, sink: { capture.append($0) }) } ?? Logger(minimum: .error)
        let gateway = Gateway(config: config, logger: logger, environment: [:])
        Teardown.add { await gateway.stop() }  // its upstream clients
        return gateway
    }

    private func send(
        _ gateway: Gateway, _ method: String, _ target: String, key: String? = RouterTests.gatewayKey, body: String = "",
        contentEncoding: String? = nil
    ) async -> InMemoryResponseWriter {
        var headers: HTTPHeaders = ["Host": "tensorwall"]
        if let contentEncoding { headers.add("Content-Encoding", contentEncoding) }
        if let key { headers.add("Authorization", "Bearer \(key)") }
        if !body.isEmpty { headers.add("Content-Type", "application/json") }
        let writer = InMemoryResponseWriter()
        await gateway.handle(HTTPRequest(method: method, target: target, headers: headers, body: Array(body.utf8)), writer)
        return writer
    }

    private func json(_ writer: InMemoryResponseWriter) throws -> JSONValue { try JSONParser.parse(writer.body) }

    @Test func aWrongMethodGets405InTheFormatOfTheAPIAddressed() async throws {
        let gateway = gateway()
        let openAI = await send(gateway, "GET", "/v1/chat/completions")
        #expect(openAI.status == 405)
        #expect(try json(openAI)["error"]?["message"]?.stringValue?.contains("method not allowed") == true)
        let ollama = await send(gateway, "GET", "/api/chat")
        #expect(ollama.status == 405)
        #expect(try json(ollama)["error"]?.stringValue?.contains("method not allowed") == true)
        #expect(await send(gateway, "DELETE", "/healthz").status == 405)
    }

    @Test func aBodyInAnEncodingOtherThanZstdGets415InTheFormatOfTheAPIAddressed() async throws {
        let gateway = gateway()
        let body = #"{"model":"llama3.2","messages":[]}"#
        let openAI = await send(gateway, "POST", "/v1/responses", body: body, contentEncoding: "deflate")
        #expect(openAI.status == 415)
        #expect(
            try json(openAI)["error"]?["message"]
                == "request bodies with Content-Encoding deflate are not supported: send the body uncompressed")
        let ollama = await send(gateway, "POST", "/api/chat", body: body, contentEncoding: "gzip")
        #expect(ollama.status == 415)
        #expect(try json(ollama)["error"]?.stringValue?.contains("Content-Encoding gzip") == true)
        let anthropic = await send(gateway, "POST", "/v1/messages", body: body, contentEncoding: "br")
        #expect(anthropic.status == 415)
        #expect(try json(anthropic)["type"] == "error")
        // Not compressed: on to the handler (no node here has the model: Ollama's 404).
        #expect(await send(gateway, "POST", "/api/show", body: body, contentEncoding: "identity").status == 404)
        // A key is checked first, as on every route.
        #expect(await send(gateway, "POST", "/api/chat", key: nil, body: body, contentEncoding: "gzip").status == 401)
    }

    @Test func optionsStarIsAnsweredAsGoAnswersIt() async throws {
        let gateway = gateway()
        let star = await send(gateway, "OPTIONS", "*", key: nil)
        #expect(star.status == 200)
        #expect(star.body.isEmpty)
        #expect(await send(gateway, "GET", "*", key: nil).status == 404)
    }

    @Test func unknownPathsGetEachAPIsNotFound() async throws {
        let gateway = gateway()
        let openAI = await send(gateway, "POST", "/v1/nothing")
        #expect(openAI.status == 404)
        #expect(try json(openAI)["error"]?["message"] == "unknown endpoint POST /v1/nothing")
        let ollama = await send(gateway, "GET", "/api/nothing")
        #expect(try json(ollama) == ["error": "404 page not found"])
        let other = await send(gateway, "GET", "/robots.txt")
        #expect(other.status == 404)
        #expect(other.headers["Content-Type"] == "text/plain")
    }

    @Test func eachRouteDeclaresWhoMayCallIt() async throws {
        let gateway = gateway()
        // open
        #expect(await send(gateway, "GET", "/healthz", key: nil).status == 200)
        #expect(await send(gateway, "HEAD", "/", key: nil).status == 200)
        // gateway key
        let anonymous = await send(gateway, "GET", "/v1/models", key: nil)
        #expect(anonymous.status == 401)
        #expect(try json(anonymous)["error"]?["code"] == "invalid_api_key")
        #expect(await send(gateway, "GET", "/v1/models").status == 200)
        #expect(await send(gateway, "GET", "/api/tags", key: "gw_wrong").status == 401)
        // operator views: the admin key, a browser asked for it
        let status = await send(gateway, "GET", "/status")
        #expect(status.status == 401)
        #expect(status.headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
        #expect(await send(gateway, "GET", "/metrics", key: Self.adminKey).status == 200)
        // farm changes: the admin key; a gateway key is known but not enough
        #expect(await send(gateway, "POST", "/api/pull", body: #"{"model":"x"}"#).status == 403)
        #expect(await send(gateway, "DELETE", "/api/delete", body: #"{"model":"x"}"#).status == 403)
        #expect(await send(gateway, "POST", "/api/pull", key: nil, body: #"{"model":"x"}"#).status == 401)
        let admin = await send(gateway, "POST", "/api/pull", key: Self.adminKey, body: #"{"model":"x","stream":false}"#)
        #expect(admin.status == 503)  // let in; no healthy node to pull to
        #expect(try json(admin) == ["error": "no healthy node to pull to"])
    }

    @Test func withoutAdminKeysAPullTakesTheGatewayKey() async throws {
        let gateway = gateway(admin: false)
        #expect(await send(gateway, "POST", "/api/pull", body: #"{"model":"x","stream":false}"#).status == 503)
        #expect(await send(gateway, "POST", "/api/pull", key: nil, body: #"{"model":"x"}"#).status == 401)
        #expect(await send(gateway, "GET", "/status", key: nil).status == 200)
    }

    @Test func inferenceRoutesWriteOneAccessLogLineWhateverTheOutcome() async throws {
        let logs = LogCapture()
        let gateway = gateway(logs: logs)
        _ = await send(gateway, "POST", "/v1/chat/completions", body: "{not json")
        _ = await send(gateway, "POST", "/api/generate", body: #"{"model":"llama3.2","stream":"yes"}"#)
        _ = await send(gateway, "GET", "/v1/models")
        let lines = logs.text.split(separator: "\n").filter { $0.contains("request key=") }
        #expect(lines.count == 2)  // the model list keeps no access log
        #expect(lines[0].contains("key=team model=- node=- status=400"))
        #expect(lines[1].contains("key=team model=- node=- status=400 stream=false"))
    }
}
