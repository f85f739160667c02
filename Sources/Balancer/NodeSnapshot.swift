/// A consistent copy of one node's state, taken in a single actor hop, that placement reasons over.
public struct NodeSnapshot: Sendable {
    public let index: Int
    public let name: String
    public let url: NodeURL
    public let weight: Int
    public let priority: Int
    public let maxParallel: Int
    public let health: NodeHealth
    public let pulled: [ModelName: PulledModel]
    public let loaded: [ModelName: LoadedModel]
    public let inFlight: [ModelName: Int]
    public let lastProbe: ProbeOutcome?

    public func hasPulled(_ model: ModelName) -> Bool { pulled[model] != nil }
    public func isLoaded(_ model: ModelName) -> Bool { loaded[model] != nil }
    public func inFlight(_ model: ModelName) -> Int { inFlight[model] ?? 0 }
    public var totalInFlight: Int { inFlight.values.reduce(0, +) }

    /// A loaded model with a parallel slot free: a request here starts at once.
    public func hasWarmSlot(_ model: ModelName) -> Bool {
        isLoaded(model) && inFlight(model) < maxParallel
    }
}

/// The result of the most recent probe, for `/status`.
public struct ProbeOutcome: Sendable, Equatable {
    /// Wall-clock time of the probe, seconds since 1970.
    public var at: Double
    public var succeeded: Bool
    public var latencyMs: Double
    public var error: String?

    public init(at: Double, succeeded: Bool, latencyMs: Double, error: String?) {
        self.at = at
        self.succeeded = succeeded
        self.latencyMs = latencyMs
        self.error = error
    }
}
