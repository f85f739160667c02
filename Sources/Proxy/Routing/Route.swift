import HTTP1

/// One entry of the routing table: the methods a path answers, who may call it, whether it writes
/// an access-log line, and the handler. The router applies the first three in that order.
struct Route: Sendable {
    typealias Handler = @Sendable (Gateway, HTTPRequest, HTTPResponseWriter, inout AccessRecord) async -> Void

    /// Methods served; empty means any.
    let methods: Set<String>
    let access: RouteAccess
    /// Inference routes log one line per request (key, model, node, status, timings, tokens).
    let logsAccess: Bool
    let handle: Handler

    init(_ methods: Set<String>, _ access: RouteAccess, logsAccess: Bool = false, _ handle: @escaping Handler) {
        self.methods = methods
        self.access = access
        self.logsAccess = logsAccess
        self.handle = handle
    }

    func allows(_ method: String) -> Bool { methods.isEmpty || methods.contains(method) }
}

/// Exact paths first, then the longest matching prefix.
struct RouteTable: Sendable {
    private let exact: [String: Route]
    private let prefixes: [(prefix: String, route: Route)]

    init(exact: [String: Route], prefixes: [(prefix: String, route: Route)]) {
        self.exact = exact
        self.prefixes = prefixes.sorted { $0.prefix.count > $1.prefix.count }
    }

    func route(for path: Substring) -> Route? {
        if let route = exact[String(path)] { return route }
        return prefixes.first { path.hasPrefix($0.prefix) }?.route
    }
}
