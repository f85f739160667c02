/// A step in a node's pace, found from runs of its answers. A GPU that starts to throttle, or that
/// another job starts to share, makes every answer on it take several times as long at once. The
/// per-model averages (`ServiceTimeAverage`) follow one answer in twenty, so a model asked for
/// 0.4/s there took over a minute to read a 4x slowdown: meanwhile placement priced the node's
/// queue at a quarter of its wait, and the planner left a model's only copy there while its requests
/// waited 13 s. Each answer is compared with its own model's average on the node, and a run of
/// answers all over twice it (or all under half), whatever their models, is a step: the node's
/// averages as they stood before the run move by the run's median at once. Chat answers of
/// different lengths rarely make such a run by chance (six in a row over twice the mean, for lengths
/// spread exponentially, is one run in about 160,000 answers), and a wrong step is undone by the
/// next run the other way.
struct PaceShift: Sendable, Equatable {
    /// Answers in a row that make a step.
    static let runLength = 6
    /// How far from its model's average an answer must be to count toward a run.
    static let stepRatio = 2.0

    /// The run so far: ratios of answer to average, all on the same side.
    private var run: [Double] = []

    /// Takes one answer's ratio to its model's average on the node. When the answer completes a run,
    /// returns the factor every average on the node should move by, from where they stood when the
    /// run began.
    mutating func observe(ratio: Double) -> Double? {
        let slower = ratio >= Self.stepRatio
        guard slower || ratio <= 1 / Self.stepRatio else {
            run.removeAll()
            return nil
        }
        if let first = run.first, (first >= Self.stepRatio) != slower { run.removeAll() }
        run.append(ratio)
        guard run.count >= Self.runLength else { return nil }
        let sorted = run.sorted()
        run.removeAll()
        return (sorted[Self.runLength / 2 - 1] + sorted[Self.runLength / 2]) / 2
    }

    /// True when the last answer observed began a run: the averages as they stand are the ones a
    /// step would move.
    var runJustBegan: Bool { run.count == 1 }

    /// True while answers far from their averages are adding up toward a step.
    var isInRun: Bool { !run.isEmpty }
}
