/// A request queued before its model's service time was measured. At arrival it could not be
/// weighed against the shed point (a guess must not turn requests away), so it waited out the whole
/// maximum: at a cold start, 13 of 20 requests sent at once to a route with a cloud endpoint behind
/// a one-slot node reached the cloud 10 s late, where those sent a moment after the first answer went
/// there in 60 ms; on a route with no other target, those past the shed point were answered 503
/// after the whole maximum, where an arrival a moment later was told at once when to come back. It is
/// weighed again once the service time is measured, as an arrival would have been with the requests
/// ahead of it, the time it already waited counted: refused then, it goes to the route's next target,
/// or is answered 429 with when to come back (and its place is kept for then, as an arrival's is).
/// With no other target, a request behind a copy that is loading (or has loaded since it queued)
/// waits on instead: that wait may run past the maximum (`deadlineForCapacityArriving`), and at 4 s
/// per GB two such requests at 75 % load were refused that the farm served within 40 s.
extension Cluster {
    /// How often such a request looks again, in farm seconds, until its model's service time is measured.
    static let unmeasuredReviewSeconds = 1.0

    enum UnmeasuredQueueReview {
        /// No answer of the model has been measured yet: look again later.
        case notYet
        /// Measured: the request waits on as any queued request does.
        case waitsOn
        /// Measured: it would have been refused at arrival, and is now, for the route's next target.
        case refused(PlacementFailure)
    }

    /// Weighs the queued `ticket` (queued at `queuedAt`, farm seconds) against the shed point.
    func reviewUnmeasuredWait(
        _ request: Request, ticket: UInt64, queuedAt: Double, shedAbove: Double, excludingIDs: Set<NodeID>
    ) async -> UnmeasuredQueueReview {
        let model = request.model
        let snapshots = await placementSnapshots(of: current.nodes)
        guard snapshots.contains(where: { $0.serviceSeconds[model] != nil }) else { return .notYet }
        guard let ahead = queues.position(model, ticket) else { return .waitsOn }
        let capacityArriving = snapshots.contains { $0.isLoading(model) } || Self.copyLoaded(model, since: queuedAt, on: snapshots)
        if capacityArriving && !request.fallsBack { return .waitsOn }
        let now = clock()
        let excluding = current.indices(of: excludingIDs)
        guard
            case .success(let estimate) = choose(
                model, snapshots, excluding: excluding, conversationNode: nil, now: now, queuedAhead: ahead),
            !estimate.startsNow
        else { return .waitsOn }
        let warmSlots = AffinityPlacement.warmSlots(model, on: snapshots)
        let calibration = waitCalibration.withLock { $0.factor(model, warmSlots: warmSlots) }
        let predicted =
            predictedWait(estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, now: now) * calibration
        let waited = now - queuedAt
        guard waited + predicted > shedAbove else { return .waitsOn }
        return .refused(
            .overloaded(
                predictedWaitSeconds: Int((waited + predicted).rounded(.up)),
                retryAfterSeconds: max(1, Int((waited + predicted - shedAbove).rounded(.up))),
                basis: refusalBasis(
                    estimate, model: model, snapshots: snapshots, excluding: excluding, queuedAhead: ahead, predictedWait: predicted,
                    calibration: calibration)))
    }
}
