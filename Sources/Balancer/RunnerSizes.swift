/// How much VRAM a model takes once loaded, as the nodes showed it. `/api/tags` gives the weights on
/// disk; a loaded runner adds its KV cache and compute graph, which `/api/ps` counts in `size`
/// (Ollama's own example: mistral, 4.1 GB on disk, 5.1 GB loaded), and more with more parallel
/// slots or a longer context. Planning loads by the size on disk put three models where two fit:
/// Ollama unloaded the third's neighbours to make room, and the planner loaded them back.
public struct RunnerSizes: Sendable, Equatable {
    /// What each model took when last seen loaded.
    public private(set) var seen: [ModelName: Int64] = [:]
    /// The most a runner was seen to add to its weights: the estimate for a model not seen loaded.
    public private(set) var overheadBytes: Int64 = 0

    public init() {}

    /// Learns from the models a probe saw loaded (not from TensorWall's own guesses).
    public mutating func learn(loaded: [LoadedModel], pulled: [ModelName: PulledModel]) {
        for model in loaded where model.sizeBytes > 0 {
            seen[model.name] = model.sizeBytes
            if let weights = pulled[model.name]?.sizeBytes { overheadBytes = max(overheadBytes, model.sizeBytes - weights) }
        }
    }

    /// What `model` will take loaded: as seen, or its weights plus the largest overhead seen.
    public func bytes(of model: ModelName, weights: Int64) -> Int64 {
        seen[model] ?? weights + overheadBytes
    }
}
