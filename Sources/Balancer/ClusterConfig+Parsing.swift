import WireFormats

extension ClusterConfig {
    /// Parses and validates `cluster.json` strictly: unknown keys, wrong types and impossible values
    /// are errors, because a typo silently ignored is an outage later.
    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> ClusterConfig {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch { throw ConfigError("", "invalid JSON: \(error)") }
        var reader = FieldReader(path: "")
        return try reader.readConfig(document)
    }

    /// Why a URL may not be used or shown, when it carries credentials (`user:password@host`, or a
    /// query or fragment, where keys are also put): errors are printed and logged, and
    /// `cluster.json` is no place for a secret. A cloud endpoint's key is named by `apiKeyEnv`
    /// (`keyField`); TensorWall appends the API's path to a URL, so a query would land in the wrong
    /// place anyway.
    static func secretProblem(in url: String, keyField: String?) -> String? {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        let authority = afterScheme.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let advice = keyField.map { "; name the environment variable that holds the key in \($0)" } ?? ""
        if authority.contains("@") {
            return "must not carry credentials (user:password@ before the host)\(advice); the URL is not shown"
        }
        if afterScheme.contains("?") || afterScheme.contains("#") {
            return "must not have a query or fragment (TensorWall appends the API's path to it)\(advice); the URL is not shown"
        }
        return nil
    }

    /// Replaces the node list with the single node `OLLAMA_API_URL` names, as the seed documents.
    /// `OLLAMA_ORIGINS` (comma-separated, as Ollama reads it) adds to `allowedOrigins`.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigError) {
        if let origins = environment["OLLAMA_ORIGINS"] {
            for origin in origins.split(separator: ",").map({ String($0.trimmingSpacesAndTabs()) }) where !origin.isEmpty {
                if let problem = Self.originProblem(origin) { throw ConfigError("OLLAMA_ORIGINS", "\"\(origin)\" \(problem)") }
                allowedOrigins.append(origin)
            }
        }
        guard let url = environment["OLLAMA_API_URL"], !url.isEmpty else { return }
        if let problem = Self.secretProblem(in: url, keyField: nil) { throw ConfigError("OLLAMA_API_URL", problem) }
        guard let parsed = NodeURL(url) else { throw ConfigError("OLLAMA_API_URL", "must be an http:// URL, got \"\(url)\"") }
        var node = NodeConfig(name: "ollama", url: parsed, maxParallel: nodes.first?.maxParallel ?? 1)
        node.discoversParallelSlots = nodes.first?.discoversParallelSlots ?? true
        nodes = [node]
    }
}

private struct FieldReader {
    let path: String

    func child(_ key: String) -> FieldReader { FieldReader(path: path.isEmpty ? key : "\(path).\(key)") }
    func element(_ index: Int) -> FieldReader { FieldReader(path: "\(path)[\(index)]") }

    func object(_ value: JSONValue, allowed: [String]) throws(ConfigError) -> JSONObject {
        guard let object = value.objectValue else { throw ConfigError(path, "expected an object, got \(value.typeName)") }
        for key in object.keys where !allowed.contains(key) {
            throw ConfigError(child(key).path, "unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
        return object
    }

    func string(_ value: JSONValue) throws(ConfigError) -> String {
        guard let text = value.stringValue else { throw ConfigError(path, "expected a string, got \(value.typeName)") }
        return text
    }

    func nonEmptyString(_ value: JSONValue) throws(ConfigError) -> String {
        let text = try string(value)
        guard !text.trimmingSpacesAndTabs().isEmpty else { throw ConfigError(path, "must not be empty") }
        return text
    }

    func int(_ value: JSONValue, min: Int, max: Int = Int(Int32.max)) throws(ConfigError) -> Int {
        guard let number = value.intValue else { throw ConfigError(path, "expected a whole number, got \(value.typeName)") }
        guard number >= min else { throw ConfigError(path, "must be at least \(min), got \(number)") }
        guard number <= max else { throw ConfigError(path, "must be at most \(max), got \(number)") }
        return Int(number)
    }

    func array(_ value: JSONValue) throws(ConfigError) -> [JSONValue] {
        guard let elements = value.arrayValue else { throw ConfigError(path, "expected an array, got \(value.typeName)") }
        return elements
    }

    mutating func readConfig(_ document: JSONValue) throws(ConfigError) -> ClusterConfig {
        let root = try object(
            document,
            allowed: [
                "listen", "apiKeys", "adminKeys", "strategy", "health", "timeouts", "limits", "outlier", "maxRetries", "queue", "keepAlive",
                "warm", "replicate",
                "usageLog", "stateFile", "numCtx", "allowedOrigins",
                "nodes",
                "cloud", "routes",
            ])
        var config = ClusterConfig()
        if let listen = root["listen"] {
            let reader = child("listen")
            let fields = try reader.object(listen, allowed: ["host", "port"])
            if let host = fields["host"] { config.listen.host = try reader.child("host").nonEmptyString(host) }
            if let port = fields["port"] { config.listen.port = try reader.child("port").int(port, min: 0, max: 65535) }
        }
        if let keys = root["apiKeys"] { config.apiKeys = try child("apiKeys").keyList(keys) }
        if let keys = root["adminKeys"] { config.adminKeys = try child("adminKeys").keyList(keys) }
        if let strategy = root["strategy"] {
            config.strategy = try child("strategy").strategy(strategy)
        }
        if let health = root["health"] {
            let reader = child("health")
            let fields = try reader.object(health, allowed: ["intervalMs", "timeoutMs", "unhealthyAfter", "healthyAfter"])
            if let value = fields["intervalMs"] { config.health.intervalMs = try reader.child("intervalMs").int(value, min: 10) }
            if let value = fields["timeoutMs"] { config.health.timeoutMs = try reader.child("timeoutMs").int(value, min: 1) }
            if let value = fields["unhealthyAfter"] { config.health.unhealthyAfter = try reader.child("unhealthyAfter").int(value, min: 1) }
            if let value = fields["healthyAfter"] { config.health.healthyAfter = try reader.child("healthyAfter").int(value, min: 1) }
        }
        if let timeouts = root["timeouts"] {
            let reader = child("timeouts")
            let fields = try reader.object(
                timeouts, allowed: ["connectMs", "firstByteMs", "idleMs", "drainMs", "hedgeAfterMs", "stuckLoadMs"])
            if let value = fields["drainMs"] { config.timeouts.drainMs = try reader.child("drainMs").int(value, min: 0) }
            if let value = fields["connectMs"] { config.timeouts.connectMs = try reader.child("connectMs").int(value, min: 1) }
            if let value = fields["firstByteMs"] { config.timeouts.firstByteMs = try reader.child("firstByteMs").int(value, min: 1) }
            if let value = fields["idleMs"] { config.timeouts.idleMs = try reader.child("idleMs").int(value, min: 1) }
            if let value = fields["hedgeAfterMs"] { config.timeouts.hedgeAfterMs = try reader.child("hedgeAfterMs").int(value, min: 0) }
            if let value = fields["stuckLoadMs"] { config.timeouts.stuckLoadMs = try reader.child("stuckLoadMs").int(value, min: 0) }
        }
        if let limits = root["limits"] {
            let reader = child("limits")
            let fields = try reader.object(
                limits, allowed: ["maxHeaderBytes", "maxBodyBytes", "headerTimeoutMs", "idleTimeoutMs", "maxConnections"])
            if let value = fields["maxHeaderBytes"] {
                config.limits.maxHeaderBytes = try reader.child("maxHeaderBytes").int(value, min: 1024)
            }
            if let value = fields["maxBodyBytes"] { config.limits.maxBodyBytes = try reader.child("maxBodyBytes").int(value, min: 1024) }
            if let value = fields["headerTimeoutMs"] {
                config.limits.headerTimeoutMs = try reader.child("headerTimeoutMs").int(value, min: 1)
            }
            if let value = fields["idleTimeoutMs"] { config.limits.idleTimeoutMs = try reader.child("idleTimeoutMs").int(value, min: 1) }
            if let value = fields["maxConnections"] { config.limits.maxConnections = try reader.child("maxConnections").int(value, min: 1) }
        }
        if let outlier = root["outlier"] {
            let reader = child("outlier")
            let fields = try reader.object(
                outlier,
                allowed: [
                    "consecutiveFailures", "baseEjectionMs", "maxEjectionMs", "maxEjectionPercent", "panicThresholdPercent",
                    "busyCooldownMs",
                ])
            if let value = fields["consecutiveFailures"] {
                config.outlier.consecutiveFailures = try reader.child("consecutiveFailures").int(value, min: 1)
            }
            if let value = fields["baseEjectionMs"] {
                config.outlier.baseEjectionMs = try reader.child("baseEjectionMs").int(value, min: 1)
            }
            if let value = fields["maxEjectionMs"] { config.outlier.maxEjectionMs = try reader.child("maxEjectionMs").int(value, min: 1) }
            if let value = fields["maxEjectionPercent"] {
                config.outlier.maxEjectionPercent = try reader.child("maxEjectionPercent").int(value, min: 0, max: 100)
            }
            if let value = fields["panicThresholdPercent"] {
                config.outlier.panicThresholdPercent = try reader.child("panicThresholdPercent").int(value, min: 0, max: 100)
            }
            if let value = fields["busyCooldownMs"] {
                config.outlier.busyCooldownMs = try reader.child("busyCooldownMs").int(value, min: 0)
            }
        }
        if let retries = root["maxRetries"] { config.maxRetries = try child("maxRetries").int(retries, min: 0, max: 100) }
        if let queue = root["queue"] {
            let reader = child("queue")
            let fields = try reader.object(queue, allowed: ["maxLength", "maxWaitMs"])
            if let value = fields["maxLength"] { config.queue.maxLength = try reader.child("maxLength").int(value, min: 0) }
            if let value = fields["maxWaitMs"] { config.queue.maxWaitMs = try reader.child("maxWaitMs").int(value, min: 1) }
        }
        if let keepAlive = root["keepAlive"] {
            config.keepAlive = try child("keepAlive").keepAlive(keepAlive)
        }
        if let warm = root["warm"] {
            let reader = child("warm")
            guard let table = warm.objectValue else { throw ConfigError(reader.path, "expected an object, got \(warm.typeName)") }
            for (model, count) in table {
                guard ModelName(model) != nil else { throw ConfigError(reader.child(model).path, "invalid model name") }
                config.warm[model] = try reader.child(model).int(count, min: 0)
            }
        }
        if let replicate = root["replicate"] {
            guard case .bool(let enabled) = replicate else {
                throw ConfigError(child("replicate").path, "expected true or false, got \(replicate.typeName)")
            }
            config.replicate = enabled
        }
        if let stateFile = root["stateFile"] {
            config.stateFile = try child("stateFile").nonEmptyString(stateFile)
        }
        if let numCtx = root["numCtx"] {
            let reader = child("numCtx")
            let name = try reader.string(numCtx)
            guard let policy = ClusterConfig.NumCtxPolicy(rawValue: name) else {
                let names = ClusterConfig.NumCtxPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigError(reader.path, "unknown policy \"\(name)\" (one of: \(names))")
            }
            config.numCtx = policy
        }
        if let usageLog = root["usageLog"] {
            config.usageLog = try child("usageLog").nonEmptyString(usageLog)
        }
        if let origins = root["allowedOrigins"] {
            let reader = child("allowedOrigins")
            for (index, entry) in try reader.array(origins).enumerated() {
                let item = reader.element(index)
                let origin = try item.nonEmptyString(entry)
                if let problem = ClusterConfig.originProblem(origin) { throw ConfigError(item.path, problem) }
                config.allowedOrigins.append(origin)
            }
        }
        if let nodes = root["nodes"] {
            let reader = child("nodes")
            for (index, entry) in try reader.array(nodes).enumerated() {
                let node = try reader.element(index).node(entry)
                if config.nodes.contains(where: { $0.name == node.name }) {
                    throw ConfigError(reader.element(index).child("name").path, "duplicate node name \"\(node.name)\"")
                }
                config.nodes.append(node)
            }
        }
        if let cloud = root["cloud"] {
            let reader = child("cloud")
            for (index, entry) in try reader.array(cloud).enumerated() {
                let endpoint = try reader.element(index).cloudEndpoint(entry)
                if config.cloud.contains(where: { $0.name == endpoint.name }) || config.nodes.contains(where: { $0.name == endpoint.name })
                {
                    throw ConfigError(reader.element(index).child("name").path, "duplicate name \"\(endpoint.name)\"")
                }
                config.cloud.append(endpoint)
            }
        }
        if let routes = root["routes"] {
            let reader = child("routes")
            guard let table = routes.objectValue else { throw ConfigError(reader.path, "expected an object, got \(routes.typeName)") }
            for (alias, targets) in table {
                let aliasReader = reader.child(alias)
                guard !alias.isEmpty else { throw ConfigError(reader.path, "a route name must not be empty") }
                var list: [ClusterConfig.RouteTarget] = []
                var targetList = targets
                var listReader = aliasReader
                if let routeObject = targets.objectValue {
                    // Object form: {"strategy": "weighted", "targets": [...]}.
                    let fields = try aliasReader.object(targets, allowed: ["strategy", "targets"])
                    if let strategy = fields["strategy"] {
                        config.routeStrategies[alias] = try aliasReader.child("strategy").strategy(strategy)
                    }
                    guard let inner = routeObject["targets"] else { throw ConfigError(aliasReader.child("targets").path, "is required") }
                    targetList = inner
                    listReader = aliasReader.child("targets")
                }
                let entries = try listReader.array(targetList)
                guard !entries.isEmpty else { throw ConfigError(listReader.path, "must list at least one target") }
                for (index, entry) in entries.enumerated() {
                    list.append(try listReader.element(index).routeTarget(entry, cloud: config.cloud))
                }
                config.routes[alias] = list
            }
        }
        return config
    }

    /// `[{"name": ..., "key": "gw_..."}]` or `[{"name": ..., "sha256": "<64 hex digits>"}]`.
    func keyList(_ value: JSONValue) throws(ConfigError) -> [ClusterConfig.APIKey] {
        var keys: [ClusterConfig.APIKey] = []
        for (index, entry) in try array(value).enumerated() {
            let item = element(index)
            let fields = try item.object(entry, allowed: ["name", "key", "sha256"])
            guard let name = fields["name"] else { throw ConfigError(item.child("name").path, "is required") }
            let keyName = try item.child("name").nonEmptyString(name)
            let apiKey: ClusterConfig.APIKey
            switch (fields["key"], fields["sha256"]) {
            case (let key?, nil):
                apiKey = ClusterConfig.APIKey(name: keyName, key: try item.child("key").nonEmptyString(key))
            case (nil, let hash?):
                let text = try item.child("sha256").nonEmptyString(hash).lowercased()
                let digits = Array(text.utf8)
                guard digits.count == 64,
                    let bytes = Optional(
                        stride(from: 0, to: 64, by: 2).compactMap({ UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16) }
                        )),
                    bytes.count == 32
                else { throw ConfigError(item.child("sha256").path, "must be 64 hex digits (the SHA-256 of the key)") }
                apiKey = ClusterConfig.APIKey(name: keyName, sha256: bytes)
            case (nil, nil):
                throw ConfigError(item.child("key").path, "is required (or sha256)")
            case (_?, _?):
                throw ConfigError(item.path, "give key or sha256, not both")
            }
            if keys.contains(where: { $0.name == apiKey.name }) {
                throw ConfigError(item.child("name").path, "duplicate key name \"\(apiKey.name)\"")
            }
            if keys.contains(where: { $0.sha256 == apiKey.sha256 }) { throw ConfigError(item.path, "the same key is listed twice") }
            keys.append(apiKey)
        }
        return keys
    }

    func strategy(_ value: JSONValue) throws(ConfigError) -> ClusterConfig.Strategy {
        let name = try string(value)
        guard let strategy = ClusterConfig.Strategy(rawValue: name) else {
            let names = ClusterConfig.Strategy.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError(path, "unknown strategy \"\(name)\" (one of: \(names))")
        }
        return strategy
    }

    /// Ollama's keep_alive: a number of seconds, or a duration string such as "10m", "24h" or "-1".
    func keepAlive(_ value: JSONValue) throws(ConfigError) -> JSONValue {
        if value.doubleValue != nil { return value }
        guard let text = value.stringValue, GoDuration.isValid(text) else {
            throw ConfigError(path, "must be a number of seconds or a duration such as \"10m\" or \"24h\"")
        }
        return value
    }

    func node(_ value: JSONValue) throws(ConfigError) -> ClusterConfig.NodeConfig {
        let fields = try object(value, allowed: ["name", "url", "weight", "priority", "maxParallel", "vramGB", "maxLoadedModels"])
        guard let nameValue = fields["name"] else { throw ConfigError(child("name").path, "is required") }
        guard let urlValue = fields["url"] else { throw ConfigError(child("url").path, "is required") }
        let name = try child("name").nonEmptyString(nameValue)
        let urlText = try child("url").string(urlValue)
        try child("url").refuseCredentials(in: urlText, keyField: nil)
        guard let url = NodeURL(urlText) else {
            throw ConfigError(child("url").path, "must be an http://host:port URL, got \"\(urlText)\"")
        }
        var node = ClusterConfig.NodeConfig(name: name, url: url)
        if let value = fields["weight"] { node.weight = try child("weight").int(value, min: 0) }
        if let value = fields["priority"] { node.priority = try child("priority").int(value, min: 0) }
        if let value = fields["maxParallel"] {
            node.maxParallel = try child("maxParallel").int(value, min: 1, max: 4096)
        } else {
            node.discoversParallelSlots = true
        }
        if let value = fields["maxLoadedModels"] { node.maxLoadedModels = try child("maxLoadedModels").int(value, min: 1, max: 1024) }
        if let value = fields["vramGB"] {
            guard let gigabytes = value.doubleValue, gigabytes > 0 else {
                throw ConfigError(child("vramGB").path, "must be a positive number")
            }
            node.vramGB = gigabytes
        }
        return node
    }

    /// Refuses a URL that carries credentials without echoing it (`ClusterConfig.secretProblem`).
    func refuseCredentials(in url: String, keyField: String?) throws(ConfigError) {
        if let problem = ClusterConfig.secretProblem(in: url, keyField: keyField) { throw ConfigError(path, problem) }
    }

    func cloudEndpoint(_ value: JSONValue) throws(ConfigError) -> ClusterConfig.CloudEndpoint {
        let fields = try object(value, allowed: ["name", "url", "apiKeyEnv", "models", "weight", "priority"])
        guard let nameValue = fields["name"] else { throw ConfigError(child("name").path, "is required") }
        guard let urlValue = fields["url"] else { throw ConfigError(child("url").path, "is required") }
        let name = try child("name").nonEmptyString(nameValue)
        let url = try child("url").string(urlValue)
        try child("url").refuseCredentials(in: url, keyField: "apiKeyEnv")
        let lowered = url.lowercased()
        guard lowered.hasPrefix("https://") || lowered.hasPrefix("http://"), url.count > 8, !url.contains(" ") else {
            throw ConfigError(child("url").path, "must be an https:// URL, got \"\(url)\"")
        }
        var models: [String] = []
        if let list = fields["models"] {
            let reader = child("models")
            for (index, entry) in try reader.array(list).enumerated() {
                models.append(try reader.element(index).nonEmptyString(entry))
            }
        }
        var endpoint = ClusterConfig.CloudEndpoint(name: name, url: url, apiKeyEnv: nil, models: models)
        if let value = fields["apiKeyEnv"] { endpoint.apiKeyEnv = try child("apiKeyEnv").nonEmptyString(value) }
        if let value = fields["weight"] { endpoint.weight = try child("weight").int(value, min: 0) }
        if let value = fields["priority"] { endpoint.priority = try child("priority").int(value, min: 0) }
        return endpoint
    }

    func routeTarget(_ value: JSONValue, cloud: [ClusterConfig.CloudEndpoint]) throws(ConfigError) -> ClusterConfig.RouteTarget {
        let fields = try object(value, allowed: ["target", "weight", "priority"])
        guard let targetValue = fields["target"] else { throw ConfigError(child("target").path, "is required") }
        let target = try child("target").nonEmptyString(targetValue)
        if let slash = target.firstIndex(of: "/") {
            let provider = String(target[..<slash])
            let model = target[target.index(after: slash)...]
            guard !model.isEmpty else { throw ConfigError(child("target").path, "names no model") }
            let known = provider == "ollama" || provider == "openai" || cloud.contains { $0.name == provider }
            if !known && ModelName(target) == nil {
                throw ConfigError(child("target").path, "unknown provider \"\(provider)\"")
            }
        }
        var route = ClusterConfig.RouteTarget(target: target)
        if let value = fields["weight"] { route.weight = try child("weight").int(value, min: 0) }
        if let value = fields["priority"] { route.priority = try child("priority").int(value, min: 0) }
        return route
    }
}
