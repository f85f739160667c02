/// A model pulled to a node's disk, from `/api/tags`.
public struct PulledModel: Sendable, Equatable {
    public var name: ModelName
    /// The name as the node prints it.
    public var displayName: String
    public var sizeBytes: Int64
    public var digest: String
    /// `modified_at` in seconds since 1970 (what `/v1/models` reports as `created`).
    public var modifiedAt: Double?

    public init(name: ModelName, displayName: String, sizeBytes: Int64, digest: String, modifiedAt: Double? = nil) {
        self.name = name
        self.displayName = displayName
        self.sizeBytes = sizeBytes
        self.digest = digest
        self.modifiedAt = modifiedAt
    }
}

/// A model resident in a node's memory, from `/api/ps` or learned from a response.
public struct LoadedModel: Sendable, Equatable {
    public var name: ModelName
    public var sizeBytes: Int64
    /// Bytes on the GPU; less than `sizeBytes` means part of the model runs on the CPU.
    public var vramBytes: Int64
    /// Ollama's unload time (not a busy/idle signal: it keeps its old value while requests run).
    public var expiresAt: Double?
    /// The runner's context length (`context_length` in `/api/ps`; see `RunnerContexts`).
    public var contextLength: Int?

    public init(name: ModelName, sizeBytes: Int64, vramBytes: Int64, expiresAt: Double?, contextLength: Int? = nil) {
        self.name = name
        self.sizeBytes = sizeBytes
        self.vramBytes = vramBytes
        self.expiresAt = expiresAt
        self.contextLength = contextLength
    }
}

/// What one successful probe of a node saw.
public struct ProbeReport: Sendable, Equatable {
    public var pulled: [PulledModel]
    public var loaded: [LoadedModel]
    /// The node's Ollama version (`/api/version`), when this probe asked and the node said.
    public var version: String?

    public init(pulled: [PulledModel], loaded: [LoadedModel], version: String? = nil) {
        self.pulled = pulled
        self.loaded = loaded
        self.version = version
    }
}
