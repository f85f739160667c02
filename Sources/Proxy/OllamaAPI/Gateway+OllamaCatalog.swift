import APITranslation
import Balancer
import HTTP1
import Health
import WireFormats

extension Gateway {
    /// Timeouts for the catalogue's quick questions to healthy nodes (tags, ps, version): generous,
    /// since leaving a slow node out would make its models vanish from the list.
    var catalogTimeouts: HTTPClientTimeouts {
        let limit = Duration.milliseconds(max(config.health.timeoutMs, 5000))
        return HTTPClientTimeouts(connect: .milliseconds(config.timeouts.connectMs), responseHead: limit, idleRead: limit)
    }

    /// Asks every healthy node the same GET in parallel; the nodes that answered 200 with JSON, in node order.
    func askHealthyNodes(_ path: String) async -> [(node: NodeSnapshot, answer: JSONValue)] {
        let nodes = await cluster.snapshots().filter { $0.health == .healthy }
        let timeouts = catalogTimeouts
        return await withTaskGroup(of: (Int, JSONValue?).self) { group in
            for (position, node) in nodes.enumerated() {
                group.addTask { [client] in
                    let request = HTTPClientRequest.toNode(node.url, "GET", path: path)
                    guard let response = try? await client.execute(request, timeouts: timeouts), response.status == 200,
                        let body = try? await response.collect(limit: 16 * 1024 * 1024)
                    else { return (position, nil) }
                    return (position, try? JSONParser.parse(body))
                }
            }
            var answers: [(Int, JSONValue)] = []
            for await (position, answer) in group { if let answer { answers.append((position, answer)) } }
            return answers.sorted { $0.0 < $1.0 }.map { (nodes[$0.0], $0.1) }
        }
    }

    /// `GET /api/tags` and `GET /api/ps` over the whole farm: one entry per model (same name and
    /// digest), newest first for tags and latest expiry first for ps, as Ollama sorts them.
    func aggregatedModels(_ writer: HTTPResponseWriter, path: String) async {
        var seen = Set<String>()
        var entries: [JSONValue] = []
        for (_, answer) in await askHealthyNodes(path) {
            for entry in answer["models"]?.arrayValue ?? [] {
                let identity = (entry["name"]?.stringValue ?? "") + "@" + (entry["digest"]?.stringValue ?? "")
                if seen.insert(identity).inserted { entries.append(entry) }
            }
        }
        if path == "/api/tags" { entries += routeAliasEntries(among: entries) }
        let sortKey = path == "/api/ps" ? "expires_at" : "modified_at"
        entries.sort { a, b in
            let left = a[sortKey]?.stringValue.flatMap(RFC3339.parse) ?? 0
            let right = b[sortKey]?.stringValue.flatMap(RFC3339.parse) ?? 0
            return left != right ? left > right : (a["name"]?.stringValue ?? "") < (b["name"]?.stringValue ?? "")
        }
        await respondOllamaJSON(writer, ["models": .array(entries)])
    }

    /// A tags entry for each `routes` alias whose farm targets a node has: the first such target's
    /// entry (by priority) under the alias's name, so `ollama list` and model pickers that read
    /// `/api/tags` offer the names `/api/chat` takes. An alias that names a farm model is left out.
    func routeAliasEntries(among entries: [JSONValue]) -> [JSONValue] {
        var byName: [String: JSONValue] = [:]
        for entry in entries {
            guard let name = entry["name"]?.stringValue.flatMap(ModelName.init) else { continue }
            if byName[name.canonical] == nil { byName[name.canonical] = entry }
        }
        var aliases: [JSONValue] = []
        for alias in config.routes.keys.sorted() {
            if let own = ModelName(alias), byName[own.canonical] != nil { continue }
            let farmModels = RoutePlan.resolve(alias, config: config).farmModelsByPriority.compactMap(ModelName.init)
            guard let entry = farmModels.lazy.compactMap({ byName[$0.canonical] }).first, case .object(var fields) = entry else {
                continue
            }
            fields["name"] = .string(alias)
            fields["model"] = .string(alias)
            aliases.append(.object(fields))
        }
        return aliases
    }

    /// `GET /api/version`: the oldest version among the healthy nodes, so a client never assumes a
    /// feature some node lacks.
    func farmVersion(_ writer: HTTPResponseWriter) async {
        let versions = await askHealthyNodes("/api/version").compactMap { $0.answer["version"]?.stringValue }
        let oldest = versions.min { OllamaVersion($0) < OllamaVersion($1) } ?? Self.fallbackOllamaVersion
        await respondOllamaJSON(writer, ["version": .string(oldest)])
    }

    /// Reported by `/api/version` while no node answers.
    static let fallbackOllamaVersion = "0.12.6"

    /// `GET /api/status` (Ollama's cloud switch, `{"cloud":{"disabled":…,"source":…}}`): a node
    /// whose cloud is enabled, else the first node's answer, so the farm's cloud reads disabled only
    /// when it is disabled on every node that answers. A node's Ollama older than the route answers
    /// 404; with no node answering, so does TensorWall, as for any path it does not know.
    func farmCloudStatus(_ writer: HTTPResponseWriter) async {
        let answers = await askHealthyNodes("/api/status").map(\.answer).filter { $0["cloud"]?.objectValue != nil }
        guard let first = answers.first else { return await respond(writer, APIError(status: 404, "404 page not found"), openAI: false) }
        let enabled = answers.first { $0["cloud"]?["disabled"]?.boolValue == false }
        await respondOllamaJSON(writer, enabled ?? first)
    }

    /// `POST /api/show`: asked of a healthy node that has the model; no slot is taken. A `routes`
    /// alias shows its first farm target (by priority) that a node has: `ollama run ALIAS` asks
    /// here first, and pulls what it is told is missing. An `ollama/` prefix names the farm's model.
    func showModel(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard !request.body.isEmpty else { return await respond(writer, APIError(status: 400, "missing request body"), openAI: false) }
        guard let body = try? JSONParser.parse(request.body), var fields = body.objectValue else {
            return await respond(writer, APIError(status: 400, "invalid JSON in request body"), openAI: false)
        }
        let requested = body["model"]?.stringValue ?? body["name"]?.stringValue ?? ""
        guard !requested.isEmpty else { return await respond(writer, APIError(status: 400, "model is required"), openAI: false) }
        let isAlias = config.routes[requested] != nil
        let candidates =
            isAlias ? RoutePlan.resolve(requested, config: config).farmModelsByPriority : [ModelName.strippingFarmPrefix(requested).name]
        let healthy = await cluster.snapshots().filter { $0.health == .healthy }
        for name in candidates {
            guard let model = ModelName(name) else {
                if !isAlias { return await respond(writer, APIError(status: 400, "invalid model name"), openAI: false) }
                continue
            }
            let holders = healthy.filter { $0.hasPulled(model) }
            guard !holders.isEmpty else { continue }
            // The client's bytes, unless the node must be asked for another name.
            var upstreamBody = request.body
            if name != requested {
                fields["name"] = nil
                fields["model"] = .string(model.canonical)
                upstreamBody = JSONValue.object(fields).serialized()
            }
            for node in holders {
                let upstream = HTTPClientRequest.toNode(node.url, path: "/api/show", body: upstreamBody)
                guard let response = try? await client.execute(upstream, timeouts: upstreamTimeouts),
                    let answer = try? await response.collect(limit: 64 * 1024 * 1024)
                else { continue }
                if response.status >= 500 { continue }
                try? await writer.respond(
                    status: response.status, headers: ["Content-Type": "application/json; charset=utf-8"], body: answer)
                return
            }
        }
        let missing = isAlias ? requested : ModelName.displayShortest(candidates[0]) ?? requested
        await respond(writer, APIError(status: 404, "model '\(missing)' not found"), openAI: false)
    }

    /// `GET /` and `HEAD /`: what Ollama answers, so clients that check for a server find one.
    func ollamaRoot(_ writer: HTTPResponseWriter) async {
        try? await writer.respond(
            status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array("Ollama is running".utf8))
    }

    func respondOllamaJSON(_ writer: HTTPResponseWriter, _ value: JSONValue, status: Int = 200) async {
        try? await writer.respond(status: status, headers: ["Content-Type": "application/json; charset=utf-8"], body: value.serialized())
    }
}

/// Ollama's dotted version numbers, compared numerically ("0.12.10" is newer than "0.12.9").
struct OllamaVersion: Comparable {
    let parts: [Int]

    init(_ text: String) {
        parts = text.split(whereSeparator: { !$0.isNumber }).prefix(3).map { Int($0) ?? 0 }
    }

    static func < (a: OllamaVersion, b: OllamaVersion) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
}
