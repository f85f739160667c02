import Foundation

/// How long a model's answers hold a slot on one node, averaged over enough answers that the
/// capacity planner can size copies on it. The planner turns it into offered load (rate × service),
/// and near a copy's saturation the wait it predicts grows several times faster than that load, so
/// a noisy service time swaps copies as surely as a noisy rate. Weighted 0.3 per answer, as it was,
/// the average followed the last three answers: a few seconds of a slow host read `codellama:13b`'s
/// 1.5 s as 2.6 s, the planner saw it saturated (a gain of 800 s for a fourth copy), unloaded the
/// only copies of two models for it and reloaded them within 15 s; and answers of different lengths,
/// as real chat traffic has, move it as much on every request.
///
/// The first answers are averaged plainly (each weighs as much as all before it together), so a
/// fresh node learns from its first answer; past `answersAveraged`, each new answer weighs
/// 1/`answersAveraged`, so the average follows a lasting change within a few dozen answers.
struct ServiceTimeAverage: Sendable, Equatable {
    /// Answers the average spans once it has seen that many.
    static let answersAveraged = 20.0

    private(set) var seconds = 0.0
    private var answers = 0.0

    mutating func learn(_ answer: Double) {
        answers = min(answers + 1, Self.answersAveraged)
        seconds += (answer - seconds) / answers
    }

    /// Averaged over at least half of `answersAveraged`: one answer far from it says something.
    var isSettled: Bool { answers >= Self.answersAveraged / 2 }

    /// The node's answers all changed pace by `factor` (`PaceShift`): the average moves with them at
    /// once, keeping its weight.
    func rescaled(by factor: Double) -> ServiceTimeAverage {
        var moved = self
        moved.seconds *= factor
        return moved
    }
}
