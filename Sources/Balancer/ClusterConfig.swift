import WireFormats

/// Everything `cluster.json` says, validated: a value of this type is always usable as is.
public struct ClusterConfig: Sendable, Equatable {
    public var listen = Listen()
    public var apiKeys: [APIKey] = []
    /// When not empty, `/status`, `/dashboard`, `/metrics` and the routes that change the farm (`/api/pull`) need one of these keys.
    public var adminKeys: [APIKey] = []
    public var strategy: Strategy = .affinity
    public var health = HealthSettings()
    public var timeouts = Timeouts()
    public var limits = Limits()
    public var outlier = OutlierSettings()
    /// Attempts on other nodes and tiers after a failure before the first byte (not counting the first).
    public var maxRetries = 3
    public var nodes: [NodeConfig] = []
    public var cloud: [CloudEndpoint] = []
    public var routes: [String: [RouteTarget]] = [:]
    /// A strategy per route alias, where the route says so; otherwise `strategy`.
    public var routeStrategies: [String: Strategy] = [:]
    public var queue = QueueSettings()
    /// `keep_alive` sent to nodes when the client sends none (Ollama's form: seconds or "10m").
    public var keepAlive: JSONValue?
    /// Models TensorWall keeps loaded, and on how many nodes each.
    public var warm: [String: Int] = [:]
    /// Under `affinity`, load extra copies of models in demand into idle VRAM of nodes with `vramGB`.
    public var replicate = true
    /// A file that gets one JSON line per finished request (usage that survives restarts).
    public var usageLog: String?
    /// Where demand (request rate and service time per model) is saved, so a restart re-warms what was hot.
    public var stateFile: String?
    /// Which runners may serve a request that sets `options.num_ctx` (`RunnerContexts`).
    public var numCtx = NumCtxPolicy.exact
    /// Web pages (origins, like "https://chat.example.com") whose scripts may call TensorWall from a
    /// browser, besides localhost's and desktop apps', as Ollama's `OLLAMA_ORIGINS` lists them; "*"
    /// lets every page. A browser's request from any other page is refused, so a site a user visits
    /// cannot drive a farm that needs no key.
    public var allowedOrigins: [String] = []

    public init() {}

    /// TensorWall's own wait queue, used when every node that could serve a model is saturated.
    /// `maxWaitMs` is the longest a request waits for a slot: one predicted to wait more than 80 %
    /// of it is refused at once (429 with `Retry-After`, or the route's next tier), and one still waiting
    /// then gets 503. 30 s by default: about as long as a chat user waits for a first word.
    public struct QueueSettings: Sendable, Equatable {
        public var maxLength = 256
        public var maxWaitMs = 30_000

        public init(maxLength: Int = 256, maxWaitMs: Int = 30_000) {
            self.maxLength = maxLength
            self.maxWaitMs = maxWaitMs
        }
    }

    public struct Listen: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8000

        public init(host: String = "127.0.0.1", port: Int = 8000) {
            self.host = host
            self.port = port
        }
    }

    /// A key clients present as `X-API-Key` or `Authorization: Bearer`; `name` is what logs show.
    /// Only its SHA-256 is kept, whether the file gave the key or its hash.
    public struct APIKey: Sendable, Equatable {
        public var name: String
        public var sha256: [UInt8]

        public init(name: String, key: String) {
            self.name = name
            self.sha256 = SHA256.digest(Array(key.utf8))
        }

        public init(name: String, sha256: [UInt8]) {
            self.name = name
            self.sha256 = sha256
        }
    }

    /// Which runner serves a request that sets `options.num_ctx`. Ollama reloads a runner for a
    /// request asking another length, so clients asking different lengths of one model need a runner
    /// each. `exact` keeps Ollama's behaviour for them. `atLeast` lets a runner loaded for a longer
    /// length serve a shorter ask too (sent with the runner's length): the client gets at least the
    /// window it asked for, and clients whose libraries pick a length of their own (LlamaIndex's
    /// default sends 3900) share runners with everyone else. A request that sets no length rides
    /// a longer runner under either.
    public enum NumCtxPolicy: String, Sendable, Equatable, CaseIterable {
        case exact
        case atLeast
    }

    public enum Strategy: String, Sendable, Equatable, CaseIterable {
        case affinity
        case roundRobin = "round_robin"
        case weighted
        case leastBusy = "least_busy"
    }

    public struct HealthSettings: Sendable, Equatable {
        public var intervalMs = 2000
        public var timeoutMs = 1000
        public var unhealthyAfter = 2
        public var healthyAfter = 1

        public init(intervalMs: Int = 2000, timeoutMs: Int = 1000, unhealthyAfter: Int = 2, healthyAfter: Int = 1) {
            self.intervalMs = intervalMs
            self.timeoutMs = timeoutMs
            self.unhealthyAfter = unhealthyAfter
            self.healthyAfter = healthyAfter
        }

        /// How long after a failed probe a node in service (`NodeHealth.suspect`) is probed again: a
        /// quarter of the interval (HAProxy's `fastinter`), so a blip of a few milliseconds does not
        /// fail both probes, while a hang is decided well before the next round.
        public var suspectReprobeDelayMs: Int { max(10, intervalMs / 4) }

        /// At most how long a node stays suspect while it hangs: the re-probe's delay and its timeout.
        public var suspectSeconds: Double { Double(suspectReprobeDelayMs + timeoutMs) / 1000 }
    }

    public struct Timeouts: Sendable, Equatable {
        public var connectMs = 5000
        /// Until an upstream's response head: covers queueing and a cold load.
        public var firstByteMs = 300_000
        /// The longest silence between two pieces of a streamed answer.
        public var idleMs = 300_000
        /// On SIGTERM/SIGINT, how long requests in flight may run before TensorWall exits anyway.
        public var drainMs = 30_000
        /// How far past its predicted time a node's first byte may be before the same request is
        /// also started on the next best holder (a hedge); 0 turns hedging off.
        public var hedgeAfterMs = 3000
        /// How far past twice its predicted time a load may run before TensorWall takes the node's
        /// loads for stuck (Ollama's scheduler can hang on a load while everything else on the node
        /// answers: ollama/ollama issue 17408); 0 turns the check off.
        public var stuckLoadMs = 60_000
    }

    /// Passive health (see `OutlierDetector`).
    public struct OutlierSettings: Sendable, Equatable {
        public var consecutiveFailures = 3
        public var baseEjectionMs = 30_000
        public var maxEjectionMs = 300_000
        public var maxEjectionPercent = 50
        public var panicThresholdPercent = 50
        public var busyCooldownMs = 1000

        public init() {}
    }

    public struct Limits: Sendable, Equatable {
        public var maxHeaderBytes = 32 * 1024
        public var maxBodyBytes = 64 * 1024 * 1024
        public var headerTimeoutMs = 10_000
        public var idleTimeoutMs = 60_000
        public var maxConnections = 10_000
    }

    public struct NodeConfig: Sendable, Equatable {
        public var name: String
        public var url: NodeURL
        public var weight = 100
        public var priority = 0
        /// Requests one loaded model on this node serves at once (Ollama's `OLLAMA_NUM_PARALLEL`).
        public var maxParallel = 1
        /// `cluster.json` left `maxParallel` out: start from it and probe for more (see
        /// `ParallelSlotDiscovery`). A value the operator gave is taken as meant, even below what
        /// the node could do.
        public var discoversParallelSlots = false
        public var vramGB: Double?
        /// Models Ollama keeps loaded at once on this node (`OLLAMA_MAX_LOADED_MODELS`; Ollama's default is 3 per GPU).
        public var maxLoadedModels = 3

        public init(
            name: String, url: NodeURL, weight: Int = 100, priority: Int = 0, maxParallel: Int = 1, vramGB: Double? = nil,
            maxLoadedModels: Int = 3
        ) {
            self.name = name
            self.url = url
            self.weight = weight
            self.priority = priority
            self.maxParallel = maxParallel
            self.vramGB = vramGB
            self.maxLoadedModels = maxLoadedModels
        }
    }

    public struct CloudEndpoint: Sendable, Equatable {
        public var name: String
        public var url: String
        public var apiKeyEnv: String?
        public var models: [String]
        public var weight = 100
        public var priority = 1

        public init(name: String, url: String, apiKeyEnv: String?, models: [String], weight: Int = 100, priority: Int = 1) {
            self.name = name
            self.url = url
            self.apiKeyEnv = apiKeyEnv
            self.models = models
            self.weight = weight
            self.priority = priority
        }
    }

    public struct RouteTarget: Sendable, Equatable {
        public var target: String
        public var weight = 100
        public var priority = 0

        public init(target: String, weight: Int = 100, priority: Int = 0) {
            self.target = target
            self.weight = weight
            self.priority = priority
        }
    }
}

/// A node's base address, split once so the request path never re-parses it.
public struct NodeURL: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: Int
    /// Path prefix without a trailing slash ("" for most nodes).
    public let basePath: String

    /// Accepts `http://host[:port][/path]`; the port defaults to 80.
    public init?(_ text: String) {
        guard text.lowercased().hasPrefix("http://") else { return nil }
        var rest = Substring(text.dropFirst(7))
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        while path.hasSuffix("/") { path.removeLast() }
        if rest.contains("@") || path.contains("?") || path.contains("#") { return nil }
        var host = String(rest)
        var port = 80
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { return nil }
                port = parsed
            } else if !after.isEmpty {
                return nil
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let parsed = Int(host[host.index(after: colon)...]) else { return nil }
            port = parsed
            host = String(host[..<colon])
        }
        guard !host.isEmpty, (1...65535).contains(port),
            host.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:_".unicodeScalars.contains($0) })
        else { return nil }
        self.host = host
        self.port = port
        self.basePath = path
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "http://\(hostPart):\(port)\(basePath)"
    }
}
