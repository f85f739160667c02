/// How a placement intends to use a node; the node re-checks it when the slot is taken, so two
/// concurrent placements cannot both take the last free slot or both start the same load.
public enum SlotClaim: Sendable, Equatable {
    /// The model is loaded and a parallel slot is free.
    case warmSlot
    /// The model is being loaded by an earlier request and a slot of it is free: share that load.
    case joinLoad
    /// Start a cold load (predicted to take this long).
    case coldLoad(predictedSeconds: Double)
    /// Take a slot whatever the state (the simple strategies; Ollama queues on its side).
    case any(predictedLoadSeconds: Double)
    /// Every slot known on this warm copy is busy: send one request more, to learn whether the
    /// node has another slot (see `ParallelSlotDiscovery`).
    case parallelProbe

    /// Whether the claim starts a load of its own.
    public var isColdLoad: Bool {
        if case .coldLoad = self { return true }
        return false
    }
}
