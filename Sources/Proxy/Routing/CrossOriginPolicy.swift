import HTTP1
import WireFormats

/// Which web pages a browser lets call TensorWall, decided as Ollama's CORS middleware decides
/// (gin-contrib/cors with `OLLAMA_ORIGINS`): pages on localhost and desktop apps by default, the
/// configured origins besides, "*" for all; a cross-origin request from any other page is refused
/// with 403 before its key is checked, and a preflight (`OPTIONS`) from an allowed page is answered
/// 204 on any path, without a key, since a browser never sends one there.
struct CrossOriginPolicy: Sendable {
    /// What to do with one request.
    enum Verdict {
        /// No `Origin`, or the page is served from TensorWall's own host: route it as it is.
        case sameOrigin
        /// A page that is not allowed: refuse it.
        case refused(origin: String)
        /// An allowed page's preflight: answer 204 with these headers.
        case preflight(HTTPHeaders)
        /// An allowed page's request: route it, and add these headers to its response.
        case allowed(HTTPHeaders)
    }

    /// Ollama's own list: loopback pages on any port, and desktop apps' and editors' web views.
    static let builtInOrigins: [String] =
        ["localhost", "127.0.0.1", "0.0.0.0"].flatMap { host in
            ["http://\(host)", "https://\(host)", "http://\(host):*", "https://\(host):*"]
        } + ["app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"]

    /// Ollama's allowed request headers, then the ones TensorWall's own keys and the Anthropic
    /// route read. A preflight also allows whatever else it asks for: the check that matters is
    /// the origin, and no response carries credentials a header could reach.
    static let allowedHeaders = [
        "Authorization", "Content-Type", "User-Agent", "Accept", "X-Requested-With", "OpenAI-Beta",
        "X-Stainless-Lang", "X-Stainless-Package-Version", "X-Stainless-Os", "X-Stainless-Arch",
        "X-Stainless-Runtime", "X-Stainless-Runtime-Version", "X-Stainless-Async", "X-Stainless-Retry-Count",
        "X-Stainless-Timeout", "X-Stainless-Helper-Method",
        "X-API-Key", "Anthropic-Version", "Anthropic-Beta", "Anthropic-Dangerous-Direct-Browser-Access",
    ]
    static let allowedMethods = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    /// How long a browser may reuse a preflight's answer (Ollama's 12 hours).
    static let preflightMaxAgeSeconds = 43_200

    private let allowsEveryOrigin: Bool
    private let exactOrigins: Set<String>
    /// Entries with one "*": what an origin must start and end with.
    private let wildcardOrigins: [(prefix: String, suffix: String)]

    /// - Parameter configured: `allowedOrigins`, each valid by `ClusterConfig.originProblem`.
    init(configured: [String]) {
        let origins = Self.builtInOrigins + configured.map { $0.lowercased() }
        allowsEveryOrigin = origins.contains("*")
        exactOrigins = Set(origins.filter { !$0.contains("*") })
        wildcardOrigins = origins.compactMap { origin in
            guard origin != "*", let star = origin.firstIndex(of: "*") else { return nil }
            return (String(origin[..<star]), String(origin[origin.index(after: star)...]))
        }
    }

    func verdict(for request: HTTPRequest) -> Verdict {
        guard let origin = request.headers["Origin"], !origin.isEmpty else { return .sameOrigin }
        if let host = request.headers["Host"], origin == "http://" + host || origin == "https://" + host { return .sameOrigin }
        guard allows(origin) else { return .refused(origin: origin) }
        var headers = HTTPHeaders()
        headers.add("Access-Control-Allow-Origin", allowsEveryOrigin ? "*" : origin)
        if request.method == "OPTIONS" {
            headers.add("Access-Control-Allow-Methods", Self.allowedMethods)
            headers.add("Access-Control-Allow-Headers", Self.allowedHeaderList(adding: request.headers["Access-Control-Request-Headers"]))
            headers.add("Access-Control-Max-Age", String(Self.preflightMaxAgeSeconds))
            if !allowsEveryOrigin { headers.add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers") }
            return .preflight(headers)
        }
        // A script reads only the headers a response exposes: a client told 429 can wait as asked.
        headers.add("Access-Control-Expose-Headers", "Retry-After")
        if !allowsEveryOrigin { headers.add("Vary", "Origin") }
        return .allowed(headers)
    }

    func allows(_ origin: String) -> Bool {
        if allowsEveryOrigin { return true }
        let origin = origin.lowercased()
        if exactOrigins.contains(origin) { return true }
        return wildcardOrigins.contains {
            origin.count >= $0.prefix.count + $0.suffix.count && origin.hasPrefix($0.prefix) && origin.hasSuffix($0.suffix)
        }
    }

    /// The allowed headers, and those a preflight asks for besides (valid header names only).
    static func allowedHeaderList(adding requested: String?) -> String {
        var names = allowedHeaders
        var known = Set(names.map { $0.lowercased() })
        for name in (requested ?? "").split(separator: ",").map({ String($0.trimmingSpacesAndTabs()) })
        where HTTPHeaders.isValidName(name) && known.insert(name.lowercased()).inserted {
            names.append(name)
        }
        return names.joined(separator: ",")
    }
}
