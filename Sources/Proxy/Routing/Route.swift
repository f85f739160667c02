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

/// Exact paths first, then the longest matching prefix. The paths are compared where they lie in
/// the request: a dictionary would need a `String` made from the path on every request (a heap
/// allocation for any path over 15 bytes, `/v1/chat/completions` included).
struct RouteTable: Sendable {
    private let exact: [(path: String, route: Route)]
    private let prefixes: [(prefix: String, route: Route)]

    init(exact: [String: Route], prefixes: [(prefix: String, route: Route)]) {
        // The inference paths first: they are most of the traffic.
        self.exact = exact.sorted { ($0.value.logsAccess ? 0 : 1, $0.key) < ($1.value.logsAccess ? 0 : 1, $1.key) }.map {
            ($0.key, $0.value)
        }
        self.prefixes = prefixes.sorted { $0.prefix.count > $1.prefix.count }
    }

    func route(for path: Substring) -> Route? {
        if let entry = exact.first(where: { $0.path.utf8.count == path.utf8.count && $0.path == path }) { return entry.route }
        return prefixes.first { path.hasPrefix($0.prefix) }?.route
    }
}
