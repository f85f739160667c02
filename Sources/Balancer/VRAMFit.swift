/// How much VRAM a node may fill, and the test a load must pass beside the models already there.
///
/// Ollama's scheduler does not load a model beside others whenever the sum fits: with other models
/// loaded it evicts one once the new model's prediction exceeds 80 % of the free VRAM
/// (`shared/ollama-api.md`, scheduler semantics). A node with 7.6 GB of 16 GB in use therefore
/// unloads a model, by its own order (shortest keep-alive, then blob digest), before a 7.4 GB load.
/// Planned as a plain sum, that load cost an idle model picked by digest and left the node holding
/// two models where three fitted (p95 0.57 s against 0.31 s at 75 % load, one run in three).
///
/// Where the bytes are not the GPU's own but a total the node was seen to hold (or just under one
/// seen not to fit), that total already passed Ollama's test, and the test is the sum.
public struct VRAMFit: Sendable, Equatable {
    /// Bytes the models may take together.
    public var bytes: Int64
    /// `bytes` is the GPU's memory (configured `vramGB`, or seen full when a model spilled to the
    /// CPU), so Ollama's share-of-free test applies; otherwise `bytes` is a total known to fit.
    public var isPhysical: Bool

    /// The share of free VRAM a load beside other models may take before Ollama evicts one.
    public static let shareOfFree = 0.8

    public init(bytes: Int64, isPhysical: Bool) {
        self.bytes = bytes
        self.isPhysical = isPhysical
    }

    /// Whether a load of `size` bytes fits beside models taking `used` bytes (0 when it is alone).
    public func admits(_ size: Int64, beside used: Int64) -> Bool {
        guard isPhysical, used > 0 else { return used + size <= bytes }
        return Double(size) <= Self.shareOfFree * Double(bytes - used)
    }
}
