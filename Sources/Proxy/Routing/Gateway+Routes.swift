import APITranslation
import Balancer
import HTTP1
import WireFormats

/// The error shape a route's clients read: Ollama's on `/api`, OpenAI's on `/v1`, Anthropic's on
/// `/v1/messages`.
enum ErrorDialect {
    case ollama, openAI, anthropic

    /// The dialect of the API a path belongs to.
    init(path: some StringProtocol) {
        if path == "/v1/messages" {
            self = .anthropic
        } else {
            self = path.hasPrefix("/v1") ? .openAI : .ollama
        }
    }
}

extension Gateway {
    /// Every path TensorWall answers, with its methods and who may call it.
    static let routes = RouteTable(
        exact: [
            "/healthz": Route(["GET", "HEAD"], .open) { _, _, writer, _ in
                try? await writer.respond(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8))
            },
            "/status": Route(["GET", "HEAD"], .operatorView) { gateway, request, writer, _ in
                if prefersHTML(request.headers["Accept"]) { return await gateway.statusPage(writer) }
                await gateway.respondJSON(writer, await gateway.statusReport.json())
            },
            "/dashboard": Route(["GET", "HEAD"], .operatorView) { gateway, _, writer, _ in await gateway.statusPage(writer) },
            "/metrics": Route(["GET"], .operatorView) { gateway, _, writer, _ in
                let text = await gateway.metricsExposition.text()
                try? await writer.respond(status: 200, headers: ["Content-Type": MetricsExposition.contentType], body: text)
            },
            "/v1/chat/completions": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.chatCompletions(request, writer, &record)
            },
            "/v1/completions": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.openAICompletions(request, writer, &record)
            },
            "/v1/embeddings": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.openAIEmbeddings(request, writer, &record)
            },
            "/v1/responses": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.openAIResponses(request, writer, &record)
            },
            "/v1/audio/transcriptions": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.openAITranscriptions(request, writer, &record)
            },
            "/v1/messages": Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
                await gateway.anthropicMessages(request, writer, &record)
            },
            "/v1/models": Route(["GET"], .gatewayKey) { gateway, _, writer, _ in await gateway.listModels(writer) },
            "/": Route(["GET", "HEAD"], .open) { gateway, _, writer, _ in await gateway.ollamaRoot(writer) },
            "/api/version": Route(["GET", "HEAD"], .gatewayKey) { gateway, _, writer, _ in await gateway.farmVersion(writer) },
            "/api/status": Route(["GET"], .gatewayKey) { gateway, _, writer, _ in await gateway.farmCloudStatus(writer) },
            "/api/tags": Route(["GET", "HEAD"], .gatewayKey) { gateway, _, writer, _ in
                await gateway.aggregatedModels(writer, path: "/api/tags")
            },
            "/api/ps": Route(["GET", "HEAD"], .gatewayKey) { gateway, _, writer, _ in
                await gateway.aggregatedModels(writer, path: "/api/ps")
            },
            "/api/chat": nativeInference(.chat),
            "/api/generate": nativeInference(.generate),
            "/api/embed": nativeInference(.embed),
            "/api/embeddings": nativeInference(.embeddings),
            "/api/show": Route(["POST"], .gatewayKey) { gateway, request, writer, _ in await gateway.showModel(request, writer) },
            "/api/pull": Route(["POST"], .farmChange) { gateway, request, writer, _ in await gateway.pull(request, writer) },
            "/api/push": Route(["POST"], .farmChange) { gateway, request, writer, _ in await gateway.push(request, writer) },
            "/api/create": Route(["POST"], .farmChange) { gateway, request, writer, _ in await gateway.createModel(request, writer) },
            "/api/copy": Route(["POST"], .farmChange) { gateway, request, writer, _ in await gateway.copyModel(request, writer) },
            "/api/delete": Route(["DELETE"], .farmChange) { gateway, request, writer, _ in await gateway.deleteModel(request, writer) },
        ],
        prefixes: [
            // `ollama create` from local files uploads them here first, then makes the model from them.
            (
                "/api/blobs/",
                Route(["HEAD", "POST"], .farmChange) { gateway, request, writer, _ in
                    let digest = PercentDecoding.decode(request.path.dropFirst("/api/blobs/".count))
                    if request.method == "HEAD" { return await gateway.blobHeld(digest: digest, writer) }
                    await gateway.uploadBlob(request, digest: digest, writer)
                }
            ),
            (
                "/v1/models/",
                Route(["GET"], .gatewayKey) { gateway, request, writer, _ in
                    await gateway.showOpenAIModel(PercentDecoding.decode(request.path.dropFirst("/v1/models/".count)), writer)
                }
            ),
        ])

    private static func nativeInference(_ endpoint: NativeEndpoint) -> Route {
        Route(["POST"], .gatewayKey, logsAccess: true) { gateway, request, writer, record in
            await gateway.ollamaInference(request, writer, &record, endpoint: endpoint)
        }
    }

    /// The router: settles a browser page's cross-origin request first (`CrossOriginPolicy`), then
    /// finds the route, checks the method, then the caller's key, runs the handler, and writes the
    /// access-log line for routes that keep one.
    func handle(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        switch current.crossOrigin.verdict(for: request) {
        case .sameOrigin:
            await route(request, writer)
        case .allowed(let headers):
            await route(request, CrossOriginResponseWriter(inner: writer, added: headers))
        case .preflight(let headers):
            try? await writer.respond(status: 204, headers: headers)
        case .refused(let origin):
            if let line = originRefusals.line(origin: origin, now: Cluster.monotonicSeconds()) { logger.warning(line) }
            await respond(
                writer,
                APIError(status: 403, "origin \(origin) may not call this server: add it to allowedOrigins in cluster.json"),
                dialect: ErrorDialect(path: request.path))
        }
    }

    private func route(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        let path = request.path
        // `OPTIONS *` asks what the server can do, not a resource: Go's server answers it 200 before any handler.
        if path == "*" && request.method == "OPTIONS" {
            try? await writer.respond(status: 200)
            return
        }
        guard let route = Self.routes.route(for: path) else { return await notFound(request, writer) }
        guard route.allows(request.method) else { return await methodNotAllowed(writer, path: path) }
        guard let keyName = await authorize(route.access, request, writer) else { return }
        guard let request = await decodedBody(of: request, writer) else { return }
        var record = AccessRecord(keyName: keyName)
        await route.handle(self, request, writer, &record)
        if route.logsAccess { logAccess(record) }
    }

    private func notFound(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        let path = request.path
        if path.hasPrefix("/v1/") || path == "/v1" {
            await respond(writer, APIError(status: 404, "unknown endpoint \(request.method) \(path)"), openAI: true)
        } else if path.hasPrefix("/api/") {
            await respond(writer, APIError(status: 404, "404 page not found"), openAI: false)
        } else {
            try? await writer.respond(status: 404, headers: ["Content-Type": "text/plain"], body: Array("404 page not found".utf8))
        }
    }

    /// Applies a route's access rule; returns the caller's key name (or "-"), or answers and returns nil.
    private func authorize(_ access: RouteAccess, _ request: HTTPRequest, _ writer: HTTPResponseWriter) async -> String? {
        switch access {
        case .open:
            return "-"
        case .gatewayKey:
            return await authenticate(request, writer)
        case .operatorView:
            return await authorizeAdmin(request, writer) ? "-" : nil
        case .farmChange:
            guard !config.adminKeys.isEmpty else { return await authenticate(request, writer) }
            let dialect = ErrorDialect(path: request.path)
            switch adminAuthenticator.check(request.headers) {
            case .allowed(let name):
                return name
            case .missing:
                await respond(
                    writer,
                    APIError(status: 401, "\(request.path) changes what the farm holds and needs an admin key", code: "invalid_api_key"),
                    dialect: dialect)
            case .invalid:
                if case .allowed(let name) = authenticator.check(request.headers), name != "-" {
                    await respond(
                        writer, APIError(status: 403, "\(request.path) changes what the farm holds and needs an admin key"),
                        dialect: dialect)
                } else {
                    await respond(writer, APIError(status: 401, "invalid API key", code: "invalid_api_key"), dialect: dialect)
                }
            }
            return nil
        }
    }

    /// True when the client asks for HTML before JSON (a browser), not for a bare or JSON `Accept`.
    static func prefersHTML(_ accept: String?) -> Bool {
        guard let accept, let html = accept.range(of: "text/html") else { return false }
        guard let json = accept.range(of: "application/json") else { return true }
        return html.lowerBound < json.lowerBound
    }

    func statusPage(_ writer: HTTPResponseWriter) async {
        try? await writer.respond(
            status: 200, headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"],
            body: Array(StatusPage.html.utf8))
    }

    /// With `adminKeys` set, the operator routes need one of them; a browser is asked for it with
    /// Basic authentication (any user name, the key as password).
    func authorizeAdmin(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async -> Bool {
        if case .allowed = adminAuthenticator.check(request.headers) { return true }
        let body = APIError(status: 401, "this endpoint needs an admin key").ollamaBody.serialized()
        try? await writer.respond(
            status: 401,
            headers: ["Content-Type": "application/json", "WWW-Authenticate": "Basic realm=\"TensorWall\", charset=\"UTF-8\""],
            body: body)
        return false
    }

    /// Returns the key's name, or answers 401 and returns nil.
    func authenticate(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async -> String? {
        switch authenticator.check(request.headers) {
        case .allowed(let name):
            return name
        case .missing:
            await respond(
                writer,
                APIError(
                    status: 401, "missing API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'", code: "invalid_api_key"),
                dialect: ErrorDialect(path: request.path))
        case .invalid:
            await respond(
                writer, APIError(status: 401, "invalid API key", code: "invalid_api_key"), dialect: ErrorDialect(path: request.path))
        }
        return nil
    }

    func methodNotAllowed(_ writer: HTTPResponseWriter, path: Substring) async {
        await respond(writer, APIError(status: 405, "method not allowed on \(path)"), dialect: ErrorDialect(path: path))
    }

    func respond(_ writer: HTTPResponseWriter, _ error: APIError, openAI: Bool) async {
        await respond(writer, error, dialect: openAI ? .openAI : .ollama)
    }

    func respond(_ writer: HTTPResponseWriter, _ error: APIError, dialect: ErrorDialect) async {
        var headers: HTTPHeaders = ["Content-Type": dialect == .ollama ? "application/json; charset=utf-8" : "application/json"]
        if let retryAfter = error.retryAfter { headers.add("Retry-After", String(retryAfter)) }
        let body: JSONValue
        switch dialect {
        case .ollama: body = error.ollamaBody
        case .openAI: body = error.openAIBody
        case .anthropic: body = error.anthropicBody
        }
        try? await writer.respond(status: error.status, headers: headers, body: body.serialized())
    }

    func respondJSON(_ writer: HTTPResponseWriter, _ value: JSONValue, status: Int = 200) async {
        try? await writer.respond(status: status, headers: ["Content-Type": "application/json"], body: value.serialized())
    }
}
