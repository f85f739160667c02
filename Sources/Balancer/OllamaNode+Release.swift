// Giving back a slot, and what the answer taught about the node.
extension OllamaNode {
    /// What giving back a slot changed in what is known of the node, for the operator's log.
    public struct ReleaseEffects: Sendable, Equatable {
        /// More slots per model, proved by a parallel probe, or fewer, seen in Ollama's own queue (`SlotWaitEvidence`).
        public var parallelSlots: ParallelSlotChange?
        /// The node's `ReportedDurationScale.factor`, when this answer changed it.
        public var reportedDurationScale: Double?
    }

    /// Gives back a slot and learns from how the request went.
    @discardableResult
    public func release(_ model: ModelName, outcome: RequestOutcome, now: Double) -> ReleaseEffects {
        defer { currentSnapshot() }
        var outcome = outcome
        var effects = ReleaseEffects()
        let observedSeconds = outcome.lastByteAt.flatMap { last in outcome.dispatchedAt.map { last - $0 } }
        if outcome.succeeded, let total = outcome.nodeTotalSeconds, let observedSeconds {
            let before = reportedDurationScale.factor
            reportedDurationScale.learn(observedSeconds: observedSeconds, reportedSeconds: total)
            let after = reportedDurationScale.factor
            // A scale that drifts within a few percent is the same finding, not news.
            if (after == 1) != (before == 1) || abs(after / before - 1) > 0.25 {
                effects.reportedDurationScale = after
                parallelDiscovery.clockChanged()
            }
        }
        loadSpeed.rescale(reportedDurationScale.isKnown ? reportedDurationScale.factor : nil)
        // Until the node's clock is known, each answer's own ratio stands in: the cold start's loads
        // come first, and reported as a fifth of themselves they left phi3:mini's service at 5 s, and
        // requests were refused for a predicted wait of 26 s behind 9.
        let durationFactor = reportedDurationScale.factor(forAnswerObserved: observedSeconds, reported: outcome.nodeTotalSeconds)
        outcome.takeNodeDurations(scaledBy: durationFactor, now: now)
        var change: ParallelSlotChange?
        switch outcome.answerStart {
        case .notBegun: break
        case .reported: if let started = answering[model] { answering[model] = started > 1 ? started - 1 : nil }
        case .unreported: loadFinished(model, now: now)
        }
        if outcome.wasParallelProbe {
            let known = parallelDiscovery.slots(configured: config)
            let proven = parallelDiscovery.probeEnded(model, firstByteAt: outcome.firstByteAt, now: now).flatMap { $0 > known ? $0 : nil }
            change = proven.map(ParallelSlotChange.proved)
            // A probe that waited in Ollama's queue measured that wait, not the model's service.
            if proven == nil { outcome.heldSlotForAnswer = false }
        } else {
            let known = parallelDiscovery.slots(configured: config)
            var waited: SlotWaitReport?
            if let running = outcome.runningWhenSent, let uncounted = outcome.nodeSlotWaitSeconds, let sentAt = outcome.dispatchedAt {
                let generation = max(0, (outcome.nodeTotalSeconds ?? 0) - (outcome.loadSeconds ?? 0) - uncounted)
                waited = SlotWaitReport(running: running, uncountedSeconds: uncounted, sentAt: sentAt, generationSeconds: generation)
            }
            let endedAt = min(now, outcome.lastByteAt ?? now)
            if let lowered = parallelDiscovery.requestEnded(model, endedAt: endedAt, waited: waited, known: known) {
                change = .lowered(lowered)
            }
        }
        let remaining = max(0, (inFlight[model] ?? 0) - 1)
        inFlight[model] = remaining == 0 ? nil : remaining
        lastUsed[model] = now
        // When the model became ready here, as known before this answer's end.
        let readyAt = loadedAt[model]
        if outcome.succeeded {
            loadFinished(model, now: now)
            reloadEnded(model, now: now)
            if loaded[model] == nil && draining[model] == nil {
                let size = runnerBytes(model)
                loaded[model] = LoadedModel(name: model, sizeBytes: size, vramBytes: size, expiresAt: nil)
                loadedAt[model] = now
            }
            // A carried load's mark is left for the load-only request (`loadCarried`), which teaches
            // from it: on a busy host its task can end after the call's, and found the mark gone.
            let queuedBehindOthers = outcome.startedColdLoad && !outcome.loadCarried && loadsQueuedBehindOthers.remove(model) != nil
            if outcome.startedColdLoad, !outcome.loadCarried, !queuedBehindOthers, let load = outcome.loadSeconds,
                let size = pulled[model]?.sizeBytes
            {
                if outcome.loadTimedHere {
                    loadSpeed.learn(timedSeconds: load, gigabytes: Double(size) / 1e9)
                } else {
                    loadSpeed.learn(reportedSeconds: load / durationFactor, gigabytes: Double(size) / 1e9, ownFactor: durationFactor)
                }
            }
            answerTimes.learn(from: outcome, model: model, readyAt: readyAt, slots: parallelDiscovery.slots(configured: config), now: now)
        } else if remaining == 0, loading[model] != nil {
            loading[model] = nil  // the load we started failed or was abandoned with its requests
        }
        effects.parallelSlots = change
        return effects
    }
}
