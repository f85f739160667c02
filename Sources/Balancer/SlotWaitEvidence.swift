/// What one request's answer said about waiting for a parallel slot on a node.
public struct SlotWaitReport: Sendable, Equatable {
    /// Requests for the model running on the node when this one was sent to a slot TensorWall counted free.
    public var running: Int
    /// What Ollama's `total_duration` leaves after its load, prompt and generation durations (farm seconds).
    public var uncountedSeconds: Double
    /// When TensorWall sent the request (cluster seconds).
    public var sentAt: Double
    /// The node's own prompt and generation durations for the answer (farm seconds): how long a
    /// request holds a slot there.
    public var generationSeconds: Double

    public init(running: Int, uncountedSeconds: Double, sentAt: Double, generationSeconds: Double) {
        self.running = running
        self.uncountedSeconds = uncountedSeconds
        self.sentAt = sentAt
        self.generationSeconds = generationSeconds
    }
}

/// Reads Ollama's own queue from its timings, and does not take a node's clock for a queue.
///
/// A request that waited in Ollama for a slot shows it: `total_duration` counts the wait, the load,
/// prompt and generation durations do not. But that remainder is not only the wait. A node (or a
/// simulator) whose durations leave out work it does on every answer (templating a long conversation,
/// sleeps that overshoot on a busy CPU, durations reported as planned rather than as taken) leaves a
/// remainder on requests that waited for nothing, and reading it as a queue would halve the slots of a
/// node that has them all. So the remainder counts only beyond what requests sent with nothing else
/// running for their model leave on this node (`aloneRemainderSeconds`, a decayed mean; nothing counts
/// before one such request has ended: in a cold start answers end in bursts), and a wait
/// counts only when a request for the model ended on the node about when the wait did: a slot comes
/// free when a request leaves it. An end may be relayed after the waiting request's own, so a wait no end
/// has explained yet is kept a little while. Nor can a wait for a slot outlast the answers ahead of it:
/// with `running` requests in the node's slots, a request waits at most for those to finish one after
/// another. A longer remainder is the node's CPU (a node answering in a millisecond on a machine too busy
/// to run it, whose remainders grow to tenths of a second) and lowering its slots would only queue here
/// what the node serves.
struct SlotWaitEvidence: Sendable, Equatable {
    /// A remainder beyond the alone baseline longer than this (farm seconds) is Ollama's queue.
    static let noticeableSeconds = 0.2
    /// Explained waits in a row that lower the slots known.
    static let waitsNeeded = 2
    /// How far from the wait's end (farm seconds) the end of the request that freed the slot may be seen.
    static let endMatchSeconds = 0.15
    static let baselineLearningRate = 0.25
    /// How many times the answers ahead (each as long as the longer of this answer and the model's
    /// mean here) a wait may last and still be a wait for their slots: answers vary in length.
    static let answersAheadSlack = 4.0
    /// Ends remembered per model, and waits kept for an end to explain them.
    static let endsKept = 8
    static let unexplainedKept = 8
    /// How long (farm seconds) after its window a wait no end explained is forgotten.
    static let unexplainedForgottenAfterSeconds = 60.0

    /// The remainder requests sent alone leave on this node: its timings' own gap, not a queue.
    private(set) var aloneRemainderSeconds: Double?
    private var waitsInARow = 0
    private var waitLevel = 0
    /// When requests for each model last ended here (the node's last byte), newest last.
    private var recentEnds: [ModelName: [Double]] = [:]
    /// A decayed mean of each model's prompt and generation durations here.
    private var meanGeneration: [ModelName: Double] = [:]
    private var unexplained: [UnexplainedWait] = []

    /// A wait no end has explained yet: it ended within `window`, with `level` requests running when it began.
    private struct UnexplainedWait: Sendable, Equatable {
        var model: ModelName
        var level: Int
        var window: ClosedRange<Double>
    }

    /// A request for `model` ended on the node at `endedAt`, with what its answer said about waiting
    /// (nil when it said nothing: sent to a claim other than a free slot, images, no timings).
    /// Returns the slots the node has at most when this completes a run of waits.
    mutating func requestEnded(_ model: ModelName, endedAt: Double, report: SlotWaitReport?, known: Int) -> Int? {
        var level = report.flatMap { read($0, model: model, known: known) }
        // This end may be the one that freed the slot another request waited for.
        if let index = unexplained.firstIndex(where: { $0.model == model && $0.window.contains(endedAt) }) {
            level = countWait(at: unexplained.remove(at: index).level) ?? level
        }
        unexplained.removeAll { $0.window.upperBound + Self.unexplainedForgottenAfterSeconds < endedAt }
        var ends = recentEnds[model, default: []]
        ends.append(endedAt)
        if ends.count > Self.endsKept { ends.removeFirst() }
        recentEnds[model] = ends
        return level
    }

    private mutating func read(_ report: SlotWaitReport, model: ModelName, known: Int) -> Int? {
        let generation = max(report.generationSeconds, meanGeneration[model] ?? 0)
        meanGeneration[model] =
            meanGeneration[model].map { $0 + Self.baselineLearningRate * (report.generationSeconds - $0) } ?? report.generationSeconds
        guard report.running >= 1 else {
            aloneRemainderSeconds =
                aloneRemainderSeconds.map { $0 + Self.baselineLearningRate * (report.uncountedSeconds - $0) } ?? report.uncountedSeconds
            return nil
        }
        // Until a request sent alone has shown what the node's timings leave out anyway, nothing is a wait.
        guard report.running < known, let aloneRemainderSeconds else { return nil }
        let waited = report.uncountedSeconds - aloneRemainderSeconds
        guard waited > Self.noticeableSeconds else {
            // Served at once beside `running` others: the node has more than that.
            if report.running >= waitLevel { waitsInARow = 0 }
            return nil
        }
        // Longer than the answers ahead could have held their slots: not a wait for one.
        guard waited <= Self.answersAheadSlack * Double(report.running) * generation else { return nil }
        let window = (report.sentAt + waited - Self.endMatchSeconds)...(report.sentAt + report.uncountedSeconds + Self.endMatchSeconds)
        if recentEnds[model, default: []].contains(where: window.contains) { return countWait(at: report.running) }
        unexplained.append(UnexplainedWait(model: model, level: report.running, window: window))
        if unexplained.count > Self.unexplainedKept { unexplained.removeFirst() }
        return nil
    }

    /// One explained wait with `level` requests running; the level the node has at most after enough in a row.
    private mutating func countWait(at level: Int) -> Int? {
        waitLevel = waitsInARow == 0 ? level : max(waitLevel, level)
        waitsInARow += 1
        guard waitsInARow >= Self.waitsNeeded else { return nil }
        waitsInARow = 0
        return waitLevel
    }
}
