import Balancer

/// A node's clock read against TensorWall's. Ollama writes a runner's `expires_at` on its own
/// clock; TensorWall tells a runner keep-alive unloaded from one Ollama unloaded to make room for a
/// load by whether that moment had passed, so a node whose clock runs minutes ahead would make every
/// expiry look like a lack of VRAM.
enum NodeClock {
    /// Offsets this small are the `Date` header's whole seconds and the answer's time in transit, not a clock that is off.
    static let ignoredOffsetSeconds = 2.0

    /// `loaded` with each `expiresAt` on TensorWall's clock: moved by how far the node's `Date`
    /// (`nodeDate`) was from TensorWall's clock as the answer arrived (`localNow`).
    static func expiriesOnLocalClock(_ loaded: [LoadedModel], nodeDate: Double?, localNow: Double) -> [LoadedModel] {
        guard let nodeDate else { return loaded }
        let offset = nodeDate - localNow
        guard abs(offset) >= ignoredOffsetSeconds else { return loaded }
        return loaded.map { model in
            var model = model
            model.expiresAt = model.expiresAt.map { $0 - offset }
            return model
        }
    }
}
