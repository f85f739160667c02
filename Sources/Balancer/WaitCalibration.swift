/// How much longer queued requests really waited than predicted, per model: the decayed sum of the
/// measured waits over the decayed sum of the plain predictions. The prediction (queue ahead ×
/// service time ÷ warm slots) is optimistic when a farm is saturated — slots freed while the queue's
/// head was not looking, loads that could not start — and shedding on an optimistic prediction lets
/// requests queue only to time out at the limit. Multiplying by the observed ratio (never below 1,
/// at most 10) keeps refusals immediate.
///
/// Three things keep the factor honest. It learns from the plain prediction, not the calibrated one
/// (fed its own output it settles at the square root of the true ratio). It learns only from
/// predictions long enough to bear on a refusal (the caller says how long: a quarter of the refusal
/// point), chosen by the prediction and never by the outcome: keeping every wait over a second, as
/// before, kept the unlucky short ones, and at a cold start waits predicted 3 s that took 8 taught
/// 1.8 while a queue predicted 13 s really took 15, and was refused at 24. And it belongs to the
/// number of warm slots it was learned on: a factor learned on two copies says nothing of three.
struct WaitCalibration: Sendable {
    /// The weight the past keeps at each new observation (a learning rate of 0.2).
    static let pastWeight = 0.8

    private struct Learned {
        var waited: Double
        var predicted: Double
        var warmSlots: Int
    }
    private var learned: [ModelName: Learned] = [:]

    /// A request that queued with `predicted` seconds ahead of it (plain, uncalibrated) while the model
    /// had `warmSlots` warm slots, and waited `actual` seconds. Predictions under `teachingFrom` teach
    /// nothing: their waits are mostly the time a slot takes to free, not the queue.
    mutating func record(_ model: ModelName, predicted: Double, actual: Double, warmSlots: Int, teachingFrom: Double) {
        guard predicted >= teachingFrom, predicted > 0, predicted.isFinite, actual.isFinite, actual >= 0 else { return }
        guard var past = learned[model], past.warmSlots == warmSlots else {
            learned[model] = Learned(waited: actual, predicted: predicted, warmSlots: warmSlots)
            return
        }
        past.waited = past.waited * Self.pastWeight + actual
        past.predicted = past.predicted * Self.pastWeight + predicted
        learned[model] = past
    }

    /// The factor for a prediction made while the model has `warmSlots` warm slots: 1 when nothing
    /// was learned on that many.
    func factor(_ model: ModelName, warmSlots: Int) -> Double {
        guard let past = learned[model], past.warmSlots == warmSlots, past.predicted > 0 else { return 1 }
        return min(10, max(1, past.waited / past.predicted))
    }
}
