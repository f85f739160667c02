import Synchronization

/// The request path of the `affinity` strategy: the choice of node, TensorWall's queue for the
/// model, and refusals that say when to come back.
extension Cluster {
    /// A predicted wait is a mean: a request predicted to wait nearly the maximum times out about as
    /// often as not, after making its client wait the whole time (at 300 % load on the placement
    /// benchmark, 20 of 343 refusals were 503s after 30 s in the queue). So a request is refused at
    /// once when its predicted wait is over this share of the maximum.
    public static let shedShareOfMaxWait = 0.8

    /// The `affinity` strategy with TensorWall's queue: a request takes the node predicted to give
    /// it a first token soonest. The predicted wait for a warm slot counts the requests already
    /// queued for the model, so when a queue builds, a new arrival starts a cold load elsewhere as
    /// soon as that beats the queue (queued requests then move to the new copy once it is warm:
    /// the queue belongs to the model, not to a node). A request predicted to wait longer than
    /// `shedShareOfMaxWait` of the queue's maximum wait is refused at once with the time it would have waited.
    func acquireByCost(_ request: Request) async -> Result<Lease, PlacementFailure> {
        let model = request.model
        let queueSettings = self.queueSettings
        let maxWait = Double(queueSettings.maxWaitMs) / 1000
        let shedAbove = maxWait * Self.shedShareOfMaxWait
        let arrival = ContinuousClock.now
        var deadline = arrival + .milliseconds(Int64(Double(queueSettings.maxWaitMs) * timeScale))
        let conversationNodeID = request.conversationKey.flatMap { key in conversations.withLock { $0.node(for: key) } }
        // The slot taken, with whether it continues the conversation on its last turn's node.
        func placed(_ lease: Lease) -> Result<Lease, PlacementFailure> {
            var lease = lease
            lease.continuesConversation = conversationNodeID != nil && lease.node.id == conversationNodeID
            return .success(lease)
        }
        var excludingIDs = request.excluding
        // A refused request back at the time it was told: its place was kept, and only a wait past the
        // maximum refuses it again.
        let isPromisedRetry = request.retryKey.map { key in retryPromises.withLock { $0.redeem(key, model: model, now: clock()) } } ?? false
        var ticket: UInt64?
        defer { if let ticket { queues.leave(model, ticket) } }
        var epoch = queues.epoch
        var lostRace = false
        var queuedAt: Double?
        // The plain prediction a queued request was given, and the warm slots it was made on.
        var predictedAtQueueing: (seconds: Double, warmSlots: Int)?
        // When a request that queued unweighed looks again (`reviewUnmeasuredWait`).
        var reviewAt: ContinuousClock.Instant?
        let reviewPeriod = Duration.milliseconds(Int64(Self.unmeasuredReviewSeconds * 1000 * timeScale))
        // Parks the queued request until its turn, `limit`, or the deadline, whichever comes first.
        func park(_ waiting: UInt64, until limit: ContinuousClock.Instant?) async -> WaitQueues.Wake {
            await queues.waitForTurn(model, waiting, seenEpoch: lostRace ? nil : epoch, deadline: min(deadline, limit ?? deadline))
        }
        while true {
            if let waiting = ticket {
                var wake = await park(waiting, until: reviewAt)
                while wake == .timedOut, reviewAt != nil, ContinuousClock.now < deadline, let queuedAt {
                    switch await reviewUnmeasuredWait(
                        request, ticket: waiting, queuedAt: queuedAt, shedAbove: shedAbove, excludingIDs: excludingIDs)
                    {
                    case .refused(let failure):
                        // Told when to come back, a request with no other target keeps its place for then.
                        if !request.fallsBack, let key = request.retryKey, case .overloaded(_, let retryAfter, _) = failure {
                            retryPromises.withLock { $0.promise(key, model: model, now: clock(), retryAfterSeconds: Double(retryAfter)) }
                        }
                        return .failure(failure)
                    case .waitsOn: reviewAt = nil
                    case .notYet: reviewAt = ContinuousClock.now + reviewPeriod
                    }
                    wake = await park(waiting, until: reviewAt)
                }
                while wake == .timedOut, let queuedAt,
                    let later = await deadlineForCapacityArriving(
                        model, ticket: waiting, queuedAt: queuedAt, maxWait: maxWait, arrival: arrival)
                {
                    deadline = later
                    wake = await park(waiting, until: nil)
                }
                switch wake {
                case .turn: break
                case .timedOut, .cancelled: return .failure(.queueTimeout)
                }
            }
            epoch = queues.epoch
            lostRace = false
            // Read the membership once a round: a reload between rounds is seen whole on the next.
            let members = current
            let nodes = members.nodes
            let snapshots = await placementSnapshots(of: nodes)
            let excludedByRequest = members.indices(of: excludingIDs)
            // Copies whose runner Ollama would reload for this request's context length stay out
            // while another node can serve it (`RunnerContexts`).
            let otherContext = nodesWithOtherContext(
                model, contextLength: request.contextLength, atLeast: members.numCtx == .atLeast, in: snapshots)
            var excluding = excludedByRequest.union(otherContext)
            let conversationNode = conversationNodeID.flatMap { id in snapshots.first { $0.id == id }?.index }
            let now = clock()
            // The head of a lane has nobody ahead; a new arrival has its whole lane ahead of it. A
            // queued request keeps the lane it joined, so only a new arrival works out its own, and
            // only when it matters (worked out at most once a round): with nobody queued for the
            // model, nobody is ahead in any lane.
            lazy var lane = queueLane(request.contextLength, of: model, atLeast: members.numCtx == .atLeast, in: snapshots)
            let ahead = ticket == nil && queues.count(model) > 0 ? queues.count(model, lane: lane) : 0
            var estimate: CostModel.Estimate
            switch choose(model, snapshots, excluding: excluding, conversationNode: conversationNode, now: now, queuedAhead: ahead) {
            case .success(let chosen):
                estimate = chosen
                // A cold load elsewhere for a length no copy serves: reloading an idle copy here may do better.
                if !otherContext.isEmpty, !request.isHedge,
                    let reload = reloadInPlace(
                        model, contextLength: request.contextLength, insteadOf: chosen,
                        candidates: otherContext.subtracting(excludedByRequest),
                        snapshots: snapshots, now: now)
                {
                    estimate = reload
                }
            case .failure(let failure):
                // No other node can: a copy Ollama reloads for the request serves it.
                guard !otherContext.isEmpty,
                    case .success(let chosen) = choose(
                        model, snapshots, excluding: excludedByRequest, conversationNode: conversationNode, now: now, queuedAhead: ahead)
                else { return .failure(failure) }
                excluding = excludedByRequest
                estimate = chosen
            }
            // Shed only on a measured service time: a guess must not turn requests away. Worked out only
            // for a request that would wait: one that starts at once pays for none of this.
            func serviceMeasured() -> Bool { snapshots.contains { $0.serviceSeconds[model] != nil } }
            // The model's warm slots and the calibration learned on that many, read once a round.
            lazy var warmSlots = AffinityPlacement.warmSlots(model, on: snapshots)
            lazy var calibration = waitCalibration.withLock { $0.factor(model, warmSlots: warmSlots) }
            func expectedWait(_ estimate: CostModel.Estimate) -> Double {
                predictedWait(estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, now: now)
                    * calibration
            }
            // The chosen estimate's expected wait, once worked out.
            var predicted: Double?
            // Placement ranks by what a choice costs everyone, the models it unloads included; a refusal
            // must be about this request's own wait. When the pick would refuse it, the node that can
            // start it soonest takes it if that is in time: at a cold start, a request whose model had
            // just been unloaded was refused (predicted 27 s behind busy models) while another node
            // could have unloaded an idle model and started its load at once.
            if ticket == nil, !estimate.startsNow, serviceMeasured() {
                predicted = expectedWait(estimate)
                if predicted! > shedAbove, let sooner = soonest(model, snapshots, excluding: excluding, now: now, queuedAhead: ahead) {
                    let soonerWait = expectedWait(sooner)
                    if soonerWait <= shedAbove { (estimate, predicted) = (sooner, soonerWait) }
                }
            }
            // A new arrival does not overtake the queue for a warm slot that freed up; new capacity
            // (a cold load, or a load under way with room) is another matter.
            let overtakes = ticket == nil && ahead > 0 && estimate.claim == .warmSlot
            // With every known slot busy, a slot the node has but TensorWall has not seen yet beats
            // both a wait and a cold load. Only the request at the front probes; it is not a hedge's business.
            if !(estimate.startsNow && estimate.claim == .warmSlot) && !request.isHedge && (ticket != nil || ahead == 0),
                let lease = await probeParallelSlot(
                    model, nodes: nodes, snapshots: snapshots, excluding: excluding, conversationNode: conversationNode, now: now)
            {
                return placed(lease)
            }
            // A hedge never waits: a slot that freed with requests queued for it is theirs (waiting in
            // the queue, a hedge held up the exchange it was started beside until the queue served it).
            if request.isHedge && (overtakes || !(estimate.startsNow && estimate.claim == .warmSlot)) {
                return .failure(.queueFull(retryAfterSeconds: 1, basis: nil))
            }
            if estimate.startsNow, ticket != nil || ahead == 0,
                let lease = await claimDrainingLoad(model, cheaperThan: estimate, snapshots: snapshots, excluding: excluding, now: now)
            {
                return placed(lease)
            }
            if estimate.startsNow && !overtakes {
                if let running = await nodes[estimate.nodeIndex].tryAcquireCounting(
                    model, claim: estimate.claim, now: clock(), evicting: estimate.evicting,
                    loadsSeen: snapshots[estimate.nodeIndex].loading.count)
                {
                    var lease = Lease(
                        cluster: self, node: nodes[estimate.nodeIndex], nodeConfig: snapshots[estimate.nodeIndex].config, model: model,
                        claim: estimate.claim, startedAt: clock(), expectedStartSeconds: estimate.waitSeconds,
                        expectedServiceSeconds: snapshots[estimate.nodeIndex].serviceSeconds[model])
                    lease.evicting = estimate.evicting
                    lease.runningWhenSent = running
                    if let queuedAt, let (predicted, slots) = predictedAtQueueing {
                        let actual = clock() - queuedAt
                        waitCalibration.withLock {
                            $0.record(model, predicted: predicted, actual: actual, warmSlots: slots, teachingFrom: shedAbove / 4)
                        }
                    }
                    return placed(lease)
                }
                lostRace = true  // another request took that slot first: look again at once
                continue
            }
            if ticket == nil {
                let measured = predicted != nil || serviceMeasured()
                var predicted = predicted ?? expectedWait(estimate)
                // The places kept for refused requests coming back count as queued ahead of a new arrival.
                if measured && !isPromisedRetry {
                    let promised = retryPromises.withLock { $0.isEmpty ? 0 : $0.outstanding(model, now: now) }
                    if promised > 0 { predicted += promisedPlacesSeconds(promised, model: model, snapshots: snapshots) * calibration }
                }
                if measured && predicted > (isPromisedRetry ? maxWait : shedAbove) {
                    // Waiting would take longer than anyone should be made to wait: say so now, with when to come back.
                    let retryAfter = max(1, Int((predicted - shedAbove).rounded(.up)))
                    if let key = request.retryKey {
                        retryPromises.withLock { $0.promise(key, model: model, now: now, retryAfterSeconds: Double(retryAfter)) }
                    }
                    return .failure(
                        .overloaded(
                            predictedWaitSeconds: Int(predicted.rounded(.up)),
                            retryAfterSeconds: retryAfter,
                            basis: refusalBasis(
                                estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead,
                                predictedWait: predicted, calibration: calibration)))
                }
                guard let joined = queues.enqueue(model, lane: lane, maxLength: queueSettings.maxLength) else {
                    // This tier's queue is full: a lower tier may still start at once.
                    let tier = snapshots.filter { $0.priority == snapshots[estimate.nodeIndex].priority }
                    excludingIDs.formUnion(tier.map(\.id))
                    let stillOpen = excluding.union(tier.map(\.index))
                    if case .success = AffinityPlacement.candidateTier(model, among: snapshots, excluding: stillOpen) { continue }
                    let basis = refusalBasis(
                        estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, predictedWait: predicted,
                        calibration: calibration)
                    return .failure(.queueFull(retryAfterSeconds: max(1, Int(estimate.waitSeconds.rounded(.up))), basis: basis))
                }
                ticket = joined
                queuedAt = clock()
                if !measured { reviewAt = ContinuousClock.now + reviewPeriod }
                // Only a wait for warm slots teaches the calibration. A wait behind a load is off by how
                // the node's loads line up (Ollama runs them one at a time), and at a cold start that
                // taught a factor of 2: a queue of 37 for four warm slots (12 s) then read as 24 s and
                // was refused, while nobody in that minute waited over 18 s.
                let waitsForWarmSlots = estimate.claim == .warmSlot && !snapshots.contains { $0.isLoading(model) }
                predictedAtQueueing = waitsForWarmSlots ? (predicted / calibration, warmSlots) : nil
            }
            // The head of the queue of a model with no copy anywhere drains its way in (`drainingLoad`).
            if ahead == 0, !estimate.startsNow,
                let lease = await claimDrainingLoad(model, snapshots: snapshots, excluding: excluding, now: now)
            {
                return placed(lease)
            }
        }
    }

    /// A request waits at most this many maximum waits in all while capacity for it arrives.
    static let capacityArrivingWaitLimit = 3.0

    /// A queued request whose maximum wait runs out while a copy of its model loads (or once one
    /// has loaded since it queued), and which that capacity serves soon after (the requests ahead
    /// of it then take less than the fifth of the maximum wait that shedding keeps in hand), waits
    /// on: it queued before the load's length could be known, and a 503 a moment before the copy
    /// is warm loses a request the farm was about to serve. At 4 s per GB on the placement
    /// benchmark, `codellama:13b` was predicted to load in 31 s and took 48 s (the victim's running
    /// requests first, then the load); two requests queued behind its first two were answered 503,
    /// one 10 ms before the copy was warm. The wait is extended to the load's predicted end, the
    /// requests ahead, and a fifth of a maximum wait more, as often as that holds, up to
    /// `capacityArrivingWaitLimit` maximum waits in all: a load that fails ends the wait at the
    /// next check, a stalled one at the limit. Requests further back are the overload the maximum
    /// wait is for, and keep it.
    func deadlineForCapacityArriving(
        _ model: ModelName, ticket: UInt64, queuedAt: Double, maxWait: Double, arrival: ContinuousClock.Instant
    ) async -> ContinuousClock.Instant? {
        // On the same clock as the deadline: wall time, scaled like it.
        let limit = arrival + .milliseconds(Int64(maxWait * Self.capacityArrivingWaitLimit * 1000 * timeScale))
        guard ContinuousClock.now < limit, let position = queues.position(model, ticket) else { return nil }
        let now = clock()
        let snapshots = await placementSnapshots(of: current.nodes)
        guard case .success(let tier) = AffinityPlacement.candidateTier(model, among: snapshots, excluding: []) else { return nil }
        let loads = tier.compactMap { $0.loading[model]?.remaining(at: now) }
        guard let loadRemaining = loads.min() ?? (Self.copyLoaded(model, since: queuedAt, on: tier) ? 0 : nil) else { return nil }
        let slots = AffinityPlacement.warmSlots(model, on: tier) + AffinityPlacement.loadingSlots(model, on: tier)
        // A model loading for the first time has no service time yet: the cost model's 5 s default
        // made the fifth request behind a first copy look 5 s out where it was 0.6 s.
        let service = serviceSecondsOrFarmHint(model, snapshots: snapshots)
        let aheadAfterLoad = Double(max(0, position + 1 - slots)) * service / Double(max(1, slots))
        let margin = maxWait * (1 - Self.shedShareOfMaxWait)
        guard aheadAfterLoad <= margin else { return nil }
        return min(limit, ContinuousClock.now + .milliseconds(Int64((loadRemaining + aheadAfterLoad + margin) * 1000 * timeScale)))
    }

    /// Whether one of `nodes` holds a copy of `model` that finished loading at `moment` or since.
    static func copyLoaded(_ model: ModelName, since moment: Double, on nodes: [NodeSnapshot]) -> Bool {
        nodes.contains { $0.isLoaded(model) && ($0.loadedAt[model] ?? -.infinity) >= moment }
    }
}
