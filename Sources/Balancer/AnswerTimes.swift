/// What a node's answers teach about its speed, per model: how long a request holds a slot
/// (`serviceSeconds`, which the planner sizes copies on and placement predicts waits with) and how
/// long a free slot takes to its first byte (`firstTokenSeconds`, which ranks one free slot against
/// another). Kept apart from the node's slots and loads; `OllamaNode.release` hands it each answer.
struct AnswerTimes: Sendable, Equatable {
    private var service: [ModelName: ServiceTimeAverage] = [:]
    private var firstToken: [ModelName: ServiceTimeAverage] = [:]
    private var paceShift = PaceShift()
    /// The averages when the current run of far-off answers began (`PaceShift`).
    private var beforeRun: Averages?

    private struct Averages: Sendable, Equatable {
        var service: [ModelName: ServiceTimeAverage]
        var firstToken: [ModelName: ServiceTimeAverage]
    }
    /// The averages' readings, kept as snapshots hand them out (a snapshot is taken per request).
    private(set) var serviceSeconds: [ModelName: Double] = [:]
    private(set) var firstTokenSeconds: [ModelName: Double] = [:]

    /// Learns from one answer that succeeded. `readyAt` is when the model became ready on the node,
    /// as known before this answer ended; `slots`, the node's parallel slots per model.
    mutating func learn(from outcome: RequestOutcome, model: ModelName, readyAt: Double?, slots: Int, now: Double) {
        if outcome.heldSlotForAnswer, var seconds = outcome.serviceSeconds {
            // A request that joined a load (or queued behind one) only held a working slot once
            // the model was ready; the time before is the load's, not the model's service.
            if !outcome.startedColdLoad, let readyAt, let dispatchedAt = outcome.dispatchedAt, readyAt > dispatchedAt {
                seconds = min(seconds, max(0, now - readyAt))
            }
            if let average = service[model], average.isSettled, average.seconds > 0 {
                // Within a run, against the averages from before it: the run's answers move them.
                let reference = paceShift.isInRun ? (beforeRun?.service[model]?.seconds ?? average.seconds) : average.seconds
                if let factor = paceShift.observe(ratio: seconds / reference), let before = beforeRun {
                    rescale(before, by: factor)
                } else if paceShift.runJustBegan {
                    beforeRun = Averages(service: service, firstToken: firstToken)
                }
            }
            service[model, default: ServiceTimeAverage()].learn(seconds)
            serviceSeconds[model] = service[model]?.seconds
        }
        // A streamed answer that took a warm slot at once: its first byte is the node's own speed
        // (prompt evaluation), not a load's or a queue's. A conversation's next turn on its last
        // turn's node is left out: Ollama's prompt cache may have skipped most of the prompt, and a
        // node holding many conversations would look faster than it is and draw new ones to it.
        if outcome.answerStart == .reported, !outcome.startedColdLoad, !outcome.wasParallelProbe, !outcome.continuedConversation,
            let running = outcome.runningWhenSent, running < slots,
            let first = outcome.firstByteAt, let sent = outcome.dispatchedAt, first >= sent, (readyAt ?? -.infinity) <= sent
        {
            firstToken[model, default: ServiceTimeAverage()].learn(first - sent)
            firstTokenSeconds[model] = firstToken[model]?.seconds
        }
    }

    /// The node's pace stepped (`PaceShift`): every model's averages here are the ones from before
    /// the run, moved by `factor` (the run's own answers, learned meanwhile, would count the step twice).
    private mutating func rescale(_ before: Averages, by factor: Double) {
        service = before.service.mapValues { $0.rescaled(by: factor) }
        firstToken = before.firstToken.mapValues { $0.rescaled(by: factor) }
        serviceSeconds = service.mapValues(\.seconds)
        firstTokenSeconds = firstToken.mapValues(\.seconds)
        beforeRun = nil
    }
}
