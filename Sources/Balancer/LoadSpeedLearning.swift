/// A node's load speed (seconds per GB beyond the runner's start), learned from the loads TensorWall
/// started there and kept as Ollama reported them, so that a new `ReportedDurationScale` reads them
/// all again on the new clock. The loads of a cold start come before a node's clock is known, and
/// the loads after (preloads, whose answer carries no `load_duration`) may never correct what they
/// taught: on a farm reporting a fifth of the time, the cold start's loads left every load looking
/// five times cheaper than it was.
struct LoadSpeedLearning: Sendable, Equatable {
    /// Loads replayed; older ones weigh under 6 % at `OllamaNode.learningRate` anyway.
    static let samplesKept = 8

    private struct Sample: Sendable, Equatable {
        var reportedSeconds: Double
        var gigabytes: Double
        /// What the load's own answer put it on this clock by, read while the node's was not known.
        var ownFactor: Double
        /// Timed here (a preload): on this clock whatever the node's.
        var timedHere: Bool
    }

    private var samples: [Sample] = []
    /// The node's factor (`ReportedDurationScale`), nil while it is not known.
    private var scale: Double?
    /// The learned rate; nil until a load long enough to be one was seen.
    private(set) var secondsPerGB: Double?

    /// A load of `gigabytes` that the node reported as `reportedSeconds` (before any scaling), and that
    /// its own answer put on this clock by `ownFactor` (`ReportedDurationScale.factor(forAnswerObserved:reported:)`).
    mutating func learn(reportedSeconds: Double, gigabytes: Double, ownFactor: Double) {
        append(Sample(reportedSeconds: reportedSeconds, gigabytes: gigabytes, ownFactor: ownFactor, timedHere: false))
    }

    /// A load of `gigabytes` that took `seconds` as TensorWall timed it (a preload, whose answer
    /// reports no `load_duration`).
    mutating func learn(timedSeconds seconds: Double, gigabytes: Double) {
        append(Sample(reportedSeconds: seconds, gigabytes: gigabytes, ownFactor: 1, timedHere: true))
    }

    private mutating func append(_ sample: Sample) {
        guard sample.gigabytes > 0 else { return }
        samples.append(sample)
        if samples.count > Self.samplesKept { samples.removeFirst() }
        relearn()
    }

    /// The node's durations are now multiplied by `scale` (`ReportedDurationScale.factor`; nil while it
    /// is not known, and each load is read by its own answer's factor).
    mutating func rescale(_ scale: Double?) {
        guard scale != self.scale else { return }
        self.scale = scale
        relearn()
    }

    private mutating func relearn() {
        var rate: Double?
        for sample in samples {
            let seconds = sample.timedHere ? sample.reportedSeconds : sample.reportedSeconds * (scale ?? sample.ownFactor)
            // A shorter "load" was a warm handover, not a load.
            guard seconds > OllamaNode.coldLoadThresholdSeconds else { continue }
            let observed = max(0, seconds - CostModel.loadBaseSeconds) / sample.gigabytes
            rate = rate.map { $0 + OllamaNode.learningRate * (observed - $0) } ?? observed
        }
        secondsPerGB = rate
    }
}
