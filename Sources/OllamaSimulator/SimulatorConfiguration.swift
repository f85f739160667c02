/// A model the simulated node has pulled.
public struct SimulatedModel: Sendable {
    public var name: String
    public var sizeBytes: Int64
    public var family: String
    public var parameterSize: String
    public var quantization: String
    public var isEmbedding: Bool
    /// The length it was trained for (`<family>.context_length` in `/api/show`), which a runner's
    /// context length is capped at, as Ollama does.
    public var trainedContextLength: Int
    /// `PARAMETER num_ctx` in its Modelfile: the length a request that sets none loads it for.
    public var modelfileContextLength: Int?
    /// Its weights file: Ollama keeps one runner per weights file, so a model made from another
    /// (`/api/create` with `from`, `/api/copy`) shares that model's runner.
    public var weights: String
    /// `modified_at` in `/api/tags`: when it was pulled or made.
    public var modifiedAt = "2025-05-04T17:37:44.706015396-07:00"

    public init(
        _ name: String, sizeGB: Double, family: String = "llama", parameterSize: String = "3.2B", quantization: String = "Q4_K_M",
        isEmbedding: Bool = false, trainedContextLength: Int = 131_072, modelfileContextLength: Int? = nil
    ) {
        self.trainedContextLength = trainedContextLength
        self.modelfileContextLength = modelfileContextLength
        self.name = name.contains(":") ? name : name + ":latest"
        self.weights = self.name
        self.sizeBytes = Int64(sizeGB * 1_000_000_000)
        self.family = family
        self.parameterSize = parameterSize
        self.quantization = quantization
        self.isEmbedding = isEmbedding
    }

    /// A stable fake sha256 derived from the name (the manifest's).
    public var digest: String { Self.fakeSHA256(name) }

    /// The weights file's blob, as `/api/show`'s Modelfile names it in its `FROM` line.
    public var weightsBlobPath: String { "/root/.ollama/models/blobs/sha256-" + Self.fakeSHA256("weights:" + weights) }

    private static func fakeSHA256(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let part = String(hash, radix: 16)
        return String(repeating: part, count: 64 / part.count + 1).prefix(64).description
    }
}

/// What a simulated node has and how fast it is. Times are in simulated seconds; `timeScale`
/// turns them into real ones, so a 10 s cold load can take 10 ms in a test.
public struct SimulatorConfiguration: Sendable {
    public var name: String
    public var host = "127.0.0.1"
    public var port = 0
    public var models: [SimulatedModel]
    public var loadSecondsPerGB = 2.0
    /// Fixed runner start-up cost added to every load.
    public var loadBaseSeconds = 1.0
    public var numParallel = 1
    public var maxLoadedModels = 3
    /// The `num_ctx` of a request that sets none (`OLLAMA_CONTEXT_LENGTH`, or Ollama's default).
    public var defaultContextLength = 4096
    public var vramBytes: Int64?
    /// Bytes a loaded runner takes beyond the model's weights (KV cache, compute graph), counted
    /// against `vramBytes` and shown in `/api/ps` `size`: Ollama's own example shows mistral, 4.1 GB
    /// on disk, at 5.1 GB loaded.
    public var runnerOverheadBytes: Int64 = 0
    /// Which idle runner the scheduler unloads when a load needs room.
    public var evictionOrder = EvictionOrder.leastRecentlyUsed
    /// With other models loaded, a load must fit in this share of the VRAM left free (nil: in all
    /// of it). `shared/ollama-api.md` reads Ollama's scheduler as evicting once a load's prediction
    /// exceeds 80 % of free memory: a fit test that depends on the load, not on a total.
    public var loadFitShareOfFree: Double?
    public var keepAliveSeconds = 300.0
    /// How far this node's clock is ahead of the machine's (behind when negative), in real seconds:
    /// its `Date` headers and `/api/ps` `expires_at` are written on it, as a host whose clock is off writes them.
    public var clockOffsetSeconds = 0.0
    public var tokensPerSecond = 50.0
    /// How many answers the node's GPU runs at full speed at once, whatever runner they are on (nil:
    /// each at its own full speed, as if it had a GPU to itself). With more running, every one runs
    /// at this many over the count of its speed, its prompt and its tokens: runners on one GPU share
    /// its compute and memory bandwidth, so a node's throughput is capped, not each model's.
    public var sharedGPUAnswers: Int?
    public var promptTokensPerSecond = 2000.0
    /// Seconds every answer spends in its slot that none of `load_duration`, `prompt_eval_duration`
    /// and `eval_duration` counts (only `total_duration` does): as a node that templates slowly, or one
    /// whose durations are what it planned rather than what it took. Read as a wait for a slot by a
    /// balancer that trusts the remainder, it would halve a node's slots.
    public var uncountedSecondsPerAnswer = 0.0
    /// What the node's reported durations are multiplied by (1: the seconds that passed): 0.2 is a
    /// simulator slowed five times that reports the time it simulates, not the time it took.
    public var reportedDurationScale = 1.0
    public var responseTokens = 8
    public var timeScale = 1.0
    public var version = "0.12.6"
    /// Paths this node has no route for, answered as gin answers an unknown path (an Ollama older
    /// than an API: `/v1/messages` or `/v1/responses`).
    public var absentPaths: Set<String> = []
    /// Whether `GET /api/status` reports Ollama's cloud as disabled; nil is an Ollama older than the
    /// route, which answers 404.
    public var cloudDisabled: Bool? = false
    /// Where the cloud switch was set, as `/api/status` says: "none", "env", "config" or "both".
    public var cloudSwitchSource = "none"
    /// How answers are laid out (Go's compact bytes unless a test asks for another valid encoding).
    public var encoding = AnswerEncoding.go
    /// Models `/api/pull` can fetch (others answer Ollama's "file does not exist").
    public var registry: [SimulatedModel] = []

    public init(name: String, models: [SimulatedModel]) {
        self.name = name
        self.models = models
    }
}

/// How a simulated node picks the runner to unload for a load that needs room.
public enum EvictionOrder: String, Sendable {
    /// The idle runner used least recently.
    case leastRecentlyUsed
    /// Ollama's `findRunnerToUnload`: the idle runner with the shortest keep-alive, ties broken by
    /// the model's blob path (a sha256: fixed per model but unrelated to its use). Not LRU, so a
    /// balancer that leaves the choice to Ollama may lose a hot model.
    case shortestKeepAliveThenDigest
}

/// Failures a test can inject.
public enum SimulatorFault: String, Sendable {
    case none
    /// Accepts connections but never answers (probes included).
    case hang
    /// Inference endpoints answer 500 as a crashed runner does.
    case error500
    /// Inference endpoints answer Ollama's 503 "server busy" (its scheduler queue is full).
    case busy503
    /// Streams stop after the first tokens with the connection closed.
    case dropMidStream
    /// Loads never finish, while loaded models go on answering and every probe passes: Ollama's
    /// scheduler stuck on a load (ollama/ollama issue 17408). A request that needs a load hangs.
    case loadsHang
}
