/// How much longer queued requests really waited than predicted, per model, as a decayed ratio.
/// The prediction (queue ahead × service time ÷ warm slots) is optimistic when a farm is
/// saturated — slots freed while the queue's head was not looking, loads that could not start —
/// and shedding on an optimistic prediction lets requests queue only to time out at the limit.
/// Multiplying by the observed ratio (never below 1, at most 10) keeps refusals immediate.
struct WaitCalibration: Sendable {
    static let learningRate = 0.2
    /// Waits shorter than this teach nothing (noise around a slot freeing at once).
    static let minimumWaitSeconds = 1.0
    private var ratios: [ModelName: Double] = [:]

    mutating func record(_ model: ModelName, predicted: Double, actual: Double) {
        guard actual >= Self.minimumWaitSeconds, predicted > 0 else { return }
        let observed = min(10, max(1, actual / predicted))
        ratios[model] = ratios[model].map { $0 + Self.learningRate * (observed - $0) } ?? observed
    }

    func factor(_ model: ModelName) -> Double { ratios[model] ?? 1 }
}
