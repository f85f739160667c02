/// Finds how many requests for one model a node really serves at once (Ollama's
/// `OLLAMA_NUM_PARALLEL`, one setting for the whole node), which no endpoint of Ollama reports.
///
/// A `cluster.json` that leaves out `maxParallel` starts from 1, Ollama's own default. A farm that runs
/// two slots per model then serves half of what it could: on the placement benchmark at 53 % of the
/// farm's capacity, a config with only names and URLs took p95 from 0.26 s to 2.2 s, and a queue of
/// over a hundred requests formed behind two copies that each had a slot idle. So when every slot
/// TensorWall counts on a copy is busy and a request would otherwise wait, one request goes to that
/// copy anyway: a probe. Ollama runs it at once if it has a slot more, or holds it in its own
/// queue until an earlier request there ends. If the probe's first byte comes back clearly before
/// any of the requests that were running when it was sent has ended, the node ran them all at
/// once: that is proof of one slot more. "Clearly": by `proofMarginSeconds`, and an end is when
/// the node's last byte came, not when TensorWall let go of the request, so a request that was
/// already over at the node but not yet released does not pass for one still running (on the
/// benchmark that lag "proved" a third slot on nodes with two). A probe proves nothing otherwise
/// (its requests may simply be short), so a level is given up only after a few unproven probes, and
/// tried again much later. Nor is a probe sent right after the copy's last slot was taken: the
/// request that took it may not have reached the node yet, and the probe would pass it there and
/// take its slot (that "proved" a third slot too).
///
/// The other way, a node may serve fewer than TensorWall counts on: a `maxParallel` written for an older
/// Ollama (whose default was 4; it has been 1 since v0.12), or a probe proof that slipped through.
/// Requests sent to slots TensorWall counted free then wait in Ollama's queue, unseen by placement,
/// and the planner sizes copies for slots that are not there. Ollama reports that wait: its
/// `total_duration` counts it, its `load_duration`, `prompt_eval_duration` and `eval_duration` do not.
/// A request sent with `running` others in flight that still waited for a slot shows the node has at
/// most `running`; two such in a row (with no request between them sent beside as many and served at
/// once) lower the slots known, written or proved. What counts as a wait, and what is only the node's
/// timings not adding up, is `SlotWaitEvidence`'s to say.
public struct ParallelSlotDiscovery: Sendable, Equatable {
    /// Slots discovery tries for at most; Ollama's own automatic setting was 4 at most.
    public static let ceiling = 16
    /// Unproven probes at one level before discovery pauses.
    public static let attemptsPerLevel = 3
    /// How long discovery pauses after a level went unproven that many times (farm seconds).
    public static let pauseSeconds = 600.0
    /// How much earlier than every end the probe's first byte must come to count (farm seconds).
    public static let proofMarginSeconds = 0.05
    /// How long after a request was sent to a model here before a probe may follow it (farm seconds).
    public static let settleSeconds = 0.2
    /// Proofs in a row a level needs: timing seen from the balancer has rare coincidences (one
    /// benchmark run in three "proved" a third slot on nodes with two, cause not found), and two in
    /// a row make one that slips through far rarer.
    public static let proofsNeeded = 2

    /// The most slots a probe proved; nil until one did.
    public private(set) var provenSlots: Int?
    /// The most slots Ollama's own queue showed the node to have (`SlotWaitEvidence`); nil until it did.
    public private(set) var slotsSeenAtMost: Int?
    /// Ollama's queue as its timings show it.
    private var waitEvidence = SlotWaitEvidence()
    /// Waits in a row that lower the slots known.
    public static let waitsNeeded = SlotWaitEvidence.waitsNeeded
    private var probe: Probe?
    private var unprovenAttempts = 0
    /// The level the last proofs were for, and how many in a row it has had.
    private var provingLevel = 0
    private var proofsInARow = 0
    private var pausedUntil = -Double.infinity
    /// When a request for each model was last sent here.
    private var lastSentAt: [ModelName: Double] = [:]

    /// The probe under way: at most one per node, so a node that has no slot more holds at most one
    /// request in its own queue because of discovery.
    private struct Probe: Sendable, Equatable {
        var model: ModelName
        /// Requests for the model running here when the probe was sent.
        var runningWhenSent: Int
        var sentAt: Double
        /// The earliest end of a request for the model released since the probe was sent.
        var firstEndAt: Double?
    }

    public init() {}

    /// Requests one loaded model serves at once: the config's `maxParallel`, or more once a probe proved it.
    public func slots(configured config: ClusterConfig.NodeConfig) -> Int {
        let counted = countedSlots(configured: config)
        return min(counted, slotsSeenAtMost ?? counted)
    }

    /// The config's slots, or more once a probe proved it: before Ollama's queue has a say.
    private func countedSlots(configured config: ClusterConfig.NodeConfig) -> Int {
        config.discoversParallelSlots ? max(config.maxParallel, provenSlots ?? 0) : config.maxParallel
    }

    /// Whether a probe may be sent now for a model with `running` requests on the node, all of its
    /// known slots busy.
    public func mayProbe(_ model: ModelName, running: Int, now: Double, configured config: ClusterConfig.NodeConfig) -> Bool {
        config.discoversParallelSlots && probe == nil && now >= pausedUntil && running < Self.ceiling
            && now - (lastSentAt[model] ?? -.infinity) >= Self.settleSeconds
    }

    /// Where the slots `slots(configured:)` gives come from, in words for `/status`: `cluster.json`,
    /// Ollama's default of 1 while probing, a probe's proof, or Ollama's own queue.
    public func slotsSource(configured config: ClusterConfig.NodeConfig) -> String {
        if let seen = slotsSeenAtMost, seen <= countedSlots(configured: config) { return "ollama queue" }
        guard config.discoversParallelSlots else { return "cluster.json" }
        return (provenSlots ?? 0) > config.maxParallel ? "probed" : "default"
    }

    /// The node's durations were found on another clock (`ReportedDurationScale`): the probes judged
    /// before were judged by ends read off the wrong one, and proved nothing either way. Without this,
    /// three such probes in a cold start paused discovery for ten minutes, and one node of four served
    /// with half its slots.
    public mutating func clockChanged() {
        unprovenAttempts = 0
        proofsInARow = 0
        pausedUntil = -Double.infinity
    }

    /// A request (not a probe) for `model` took a slot here.
    public mutating func requestSent(_ model: ModelName, now: Double) {
        lastSentAt[model] = now
    }

    /// The probe is sent.
    public mutating func probeSent(_ model: ModelName, running: Int, now: Double) {
        probe = Probe(model: model, runningWhenSent: running, sentAt: now, firstEndAt: nil)
    }

    /// A request for `model` (not the probe) ended on the node at `endedAt`: when its last byte
    /// came, which may be before the probe was sent if TensorWall only now lets go of it. `waited` is
    /// what its answer said about waiting for a slot, when it was sent to one counted free. Returns
    /// the slots the node is now known to have at most, when Ollama's queue lowered them below `known`.
    @discardableResult
    public mutating func requestEnded(_ model: ModelName, endedAt: Double, waited: SlotWaitReport? = nil, known: Int = .max) -> Int? {
        if let sent = probe, sent.model == model { probe?.firstEndAt = min(sent.firstEndAt ?? endedAt, endedAt) }
        guard let level = waitEvidence.requestEnded(model, endedAt: endedAt, report: waited, known: known), level < known else {
            return nil
        }
        slotsSeenAtMost = min(slotsSeenAtMost ?? level, level)
        if let proven = provenSlots, proven > level { provenSlots = nil }
        return slotsSeenAtMost
    }

    /// The probe ended. `firstByteAt` is when its answer began, nil if it never did (it failed, or
    /// the client left). Returns the slots it proved, if it proved any.
    @discardableResult
    public mutating func probeEnded(_ model: ModelName, firstByteAt: Double?, now: Double) -> Int? {
        guard let sent = probe, sent.model == model else { return nil }
        probe = nil
        guard let firstByteAt else { return nil }  // says nothing either way
        if firstByteAt + Self.proofMarginSeconds < (sent.firstEndAt ?? .infinity) {
            let level = sent.runningWhenSent + 1
            proofsInARow = provingLevel == level ? proofsInARow + 1 : 1
            provingLevel = level
            guard proofsInARow >= Self.proofsNeeded else { return nil }
            provenSlots = max(provenSlots ?? 0, level)
            // A slot proved where fewer were seen: the queue then was someone else's requests.
            if let seen = slotsSeenAtMost, level > seen { slotsSeenAtMost = nil }
            unprovenAttempts = 0
            proofsInARow = 0
            return level
        }
        proofsInARow = 0
        unprovenAttempts += 1
        if unprovenAttempts >= Self.attemptsPerLevel {
            unprovenAttempts = 0
            pausedUntil = now + Self.pauseSeconds
        }
        return nil
    }
}

/// How the slots per model known on a node changed.
public enum ParallelSlotChange: Sendable, Equatable {
    /// A parallel probe proved this many.
    case proved(Int)
    /// Ollama kept requests waiting for a slot with this many running.
    case lowered(Int)
}
