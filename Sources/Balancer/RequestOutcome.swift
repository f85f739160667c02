/// How one request on a node ended, so the node can learn from it.
public struct RequestOutcome: Sendable, Equatable {
    public var succeeded: Bool
    /// Ollama's `load_duration`, in seconds, when the answer carried one.
    public var loadSeconds: Double?
    /// From dispatch to the end of the answer, less a load it waited for (`OllamaNode.release` works
    /// it out when nil).
    public var serviceSeconds: Double?
    /// `loadSeconds` was timed here, not reported by the node: a preload's answer carries no
    /// `load_duration`, so the time the preload took stands for it, already on TensorWall's clock.
    public var loadTimedHere = false
    /// The request started the load it waited for, so `loadSeconds` measures this node's load speed.
    /// (A request that joined a load, or waited in Ollama's own queue, measured something else.)
    public var startedColdLoad = false
    /// A load-only request of TensorWall's own carried the load this request started, and taught the
    /// node's load speed from its own time (`OllamaNode.loadCarried`). The request's `load_duration`
    /// may count another model's load that Ollama took between the two, and teaches nothing.
    public var loadCarried = false
    /// When the slot was taken (cluster seconds), so a wait for a load that ended later can be left out.
    public var dispatchedAt: Double?
    /// False for a preload (an empty generate): it held no slot for an answer, so it says nothing
    /// about how long requests for the model keep a slot.
    public var heldSlotForAnswer = true
    /// What passive health should make of it; nil when it says nothing about the node (the client
    /// went away, or sent a bad request).
    public var signal: OutlierDetector.Signal?
    /// When the answer's first byte arrived (cluster seconds), if it did.
    public var firstByteAt: Double?
    /// When the node's last byte of a whole answer arrived (cluster seconds), before it was passed on.
    public var lastByteAt: Double?
    /// Ollama's `total_duration`: from the node taking the request to its last chunk. Real seconds
    /// from the node, farm seconds once `Lease.release` has scaled it, like `loadSeconds`.
    public var nodeTotalSeconds: Double?
    /// What `total_duration` leaves after the load, prompt and generation durations: a wait for a
    /// parallel slot, or the node's timings not adding up (`SlotWaitEvidence`). Scaled as `nodeTotalSeconds`.
    public var nodeSlotWaitSeconds: Double?
    /// Requests for the model running here when this one took a warm slot; nil for other claims.
    public var runningWhenSent: Int?
    /// The request was a probe for a parallel slot more (`SlotClaim.parallelProbe`).
    public var wasParallelProbe = false
    /// A conversation's next turn on the node that served its last one: Ollama may have evaluated
    /// only the new part of the prompt, so its first byte says little of the node's speed.
    public var continuedConversation = false
    /// Whether the node's answer began, and whether `OllamaNode.firstByteArrived` was told so.
    public var answerStart = AnswerStart.notBegun

    public enum AnswerStart: Sendable, Equatable {
        case notBegun
        /// `firstByteArrived` was called for this request.
        case reported
        /// `firstByteArrived` was not called: a whole (not streamed) answer, whose head comes with
        /// its end, so `release` does that part too and the request makes one hop to the node's
        /// actor fewer (from an event loop, two jobs through its queue).
        case unreported
    }

    public init(succeeded: Bool, loadSeconds: Double? = nil, serviceSeconds: Double? = nil) {
        self.succeeded = succeeded
        self.loadSeconds = loadSeconds
        self.serviceSeconds = serviceSeconds
        self.signal = succeeded ? .success : nil
    }

    /// Ended without a full answer; `signal` says whether (and how) that was the node's doing.
    public static func unserved(signal: OutlierDetector.Signal?) -> RequestOutcome {
        var outcome = RequestOutcome(succeeded: false)
        outcome.signal = signal
        return outcome
    }

    /// Ended without a full answer through no fault of the node (the client left or erred).
    public static let unservedNoFault = unserved(signal: nil)

    /// The load carried for the request ended, but the client had gone: the node did its part, and
    /// the slot held no answer.
    public static let loadedForNobody: RequestOutcome = {
        var outcome = RequestOutcome(succeeded: true)
        outcome.heldSlotForAnswer = false
        outcome.loadCarried = true
        return outcome
    }()

    /// The node failed it: timed out, answered 5xx, or cut the stream.
    public static let nodeFailed = unserved(signal: .failure)

    /// The node said it is overloaded.
    public static let nodeBusy = unserved(signal: .busy)

    /// The node refused the connection: nothing was sent.
    public static let nodeRefused = unserved(signal: .refused)

    /// Puts the node's reported durations on TensorWall's clock (`ReportedDurationScale.factor`) and
    /// works out what follows from them at `now`: the slot's service time, and the node's last byte.
    mutating func takeNodeDurations(scaledBy factor: Double, now: Double) {
        if !loadTimedHere { loadSeconds = loadSeconds.map { $0 * factor } }
        nodeTotalSeconds = nodeTotalSeconds.map { $0 * factor }
        nodeSlotWaitSeconds = nodeSlotWaitSeconds.map { $0 * factor }
        guard let dispatchedAt else { return }
        // The slot's service time leaves out a cold load the request waited for.
        if succeeded && serviceSeconds == nil { serviceSeconds = max(0, now - dispatchedAt - (loadSeconds ?? 0)) }
        // The node finished no later than its own clock says: the last byte may have waited in a
        // socket behind a slow client, and then looks later here than the node's slot came free.
        if let nodeTotalSeconds { lastByteAt = min(lastByteAt ?? .infinity, dispatchedAt + nodeTotalSeconds) }
    }
}
