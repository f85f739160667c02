import Balancer
import HTTP1

extension Gateway {
    func handle(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        let path = request.path
        switch path {
        case "/healthz":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            try? await writer.respond(status: 200, headers: ["Content-Type": "application/json"], body: Array(#"{"status":"ok"}"#.utf8))
        case "/status":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            guard await authorizeAdmin(request, writer) else { return }
            if Self.prefersHTML(request.headers["Accept"]) { return await statusPage(writer) }
            await status(writer)
        case "/dashboard":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            guard await authorizeAdmin(request, writer) else { return }
            await statusPage(writer)
        case "/metrics":
            guard request.method == "GET" else { return await methodNotAllowed(writer, path: path) }
            guard await authorizeAdmin(request, writer) else { return }
            await metrics(writer)
        case "/v1/chat/completions":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard let keyName = await authenticate(request, writer) else { return }
            await chatCompletions(request, writer, keyName: keyName)
        case "/v1/completions":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard let keyName = await authenticate(request, writer) else { return }
            await openAICompletions(request, writer, keyName: keyName)
        case "/v1/embeddings":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard let keyName = await authenticate(request, writer) else { return }
            await openAIEmbeddings(request, writer, keyName: keyName)
        case "/v1/models":
            guard request.method == "GET" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await listModels(writer)
        case _ where path.hasPrefix("/v1/models/"):
            guard request.method == "GET" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await showOpenAIModel(PercentDecoding.decode(path.dropFirst("/v1/models/".count)), writer)
        case "/":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            await ollamaRoot(writer)
        case "/api/version":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await farmVersion(writer)
        case "/api/tags", "/api/ps":
            guard request.method == "GET" || request.method == "HEAD" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await aggregatedModels(writer, path: String(path))
        case "/api/chat", "/api/generate", "/api/embed", "/api/embeddings":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard let keyName = await authenticate(request, writer) else { return }
            await ollamaInference(request, writer, keyName: keyName, endpoint: NativeEndpoint(rawValue: String(path))!)
        case "/api/show":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await showModel(request, writer)
        case "/api/pull":
            guard request.method == "POST" else { return await methodNotAllowed(writer, path: path) }
            guard await authenticate(request, writer) != nil else { return }
            await pull(request, writer)
        case "/api/push", "/api/create", "/api/copy", "/api/delete":
            guard await authenticate(request, writer) != nil else { return }
            await respond(
                writer, APIError(status: 501, "\(path) is not served through TensorWall: run it against the node itself"), openAI: false)
        default:
            if path.hasPrefix("/v1/") || path == "/v1" {
                await respond(writer, APIError(status: 404, "unknown endpoint \(request.method) \(path)"), openAI: true)
            } else if path.hasPrefix("/api/") {
                await respond(writer, APIError(status: 404, "404 page not found"), openAI: false)
            } else {
                try? await writer.respond(status: 404, headers: ["Content-Type": "text/plain"], body: Array("404 page not found".utf8))
            }
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
                openAI: request.path.hasPrefix("/v1"))
        case .invalid:
            await respond(writer, APIError(status: 401, "invalid API key", code: "invalid_api_key"), openAI: request.path.hasPrefix("/v1"))
        }
        return nil
    }

    func methodNotAllowed(_ writer: HTTPResponseWriter, path: Substring) async {
        await respond(writer, APIError(status: 405, "method not allowed on \(path)"), openAI: path.hasPrefix("/v1"))
    }

    func respond(_ writer: HTTPResponseWriter, _ error: APIError, openAI: Bool) async {
        var headers: HTTPHeaders = ["Content-Type": openAI ? "application/json" : "application/json; charset=utf-8"]
        if let retryAfter = error.retryAfter { headers.add("Retry-After", String(retryAfter)) }
        let body = openAI ? error.openAIBody : error.ollamaBody
        try? await writer.respond(status: error.status, headers: headers, body: body.serialized())
    }

    func respondJSON(_ writer: HTTPResponseWriter, _ value: JSONValue, status: Int = 200) async {
        try? await writer.respond(status: status, headers: ["Content-Type": "application/json"], body: value.serialized())
    }
}
