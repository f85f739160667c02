import Balancer
import HTTP1

/// A request's cold load, carried by a load request of TensorWall's own.
///
/// Ollama aborts a load when the request that started it goes away before it finishes (`client
/// connection closed before llama-server finished loading, aborting load`). A client that gives up
/// during a cold load (a chat user who stops, a timeout shorter than the load) would then throw away
/// seconds of loading that the requests queued behind it wait for, and they would start it again
/// from nothing. So the request that places a cold load first sends Ollama's load-only form of its
/// own call, on a task the client's leaving does not cancel, and sends the call 20 ms behind it
/// (`callGap`): the call waits in Ollama's queue and attaches to the runner the moment it is up.
/// Sent only once the load was done, the call left the new runner idle for a moment, and Ollama's
/// next load on the node could unload it to make room (on the benchmark's node outages, chains of
/// cold loads followed).
extension Gateway {
    /// How a carried load ended.
    enum CarriedLoadEnd {
        /// The model is loaded.
        case loaded
        /// The load failed (as the call itself then does), or was given up as stuck.
        case failed(UpstreamFailure)
    }

    /// How long after its load-only request a cold load's call is sent (real time): long enough for
    /// Ollama to have taken the load-only request first, a small part of any load.
    static let callGap = Duration.milliseconds(20)

    /// What a carried load's lease ends with when its call served nobody (the client left, or a
    /// warm slot elsewhere answered first), once the load has ended: the copy is the node's to keep
    /// when it loaded; either way the load-only request, not the call, taught the load's speed.
    static func outcomeServingNobody(after end: CarriedLoadEnd) -> RequestOutcome {
        if case .loaded = end { return .loadedForNobody }
        var outcome = RequestOutcome.unservedNoFault
        outcome.loadCarried = true
        return outcome
    }

    /// Watches the loads this gateway starts (`StuckLoadWatch`).
    var stuckLoadWatch: StuckLoadWatch { StuckLoadWatch(config.timeouts, cluster: cluster) }

    /// Sends the call's load-only form to the lease's node and returns once it is on its way, with
    /// the task that waits for the load to end whether or not the client stays; nil when the call
    /// has no load-only form (embeddings: their own request loads the model). When the load ends,
    /// the node's actor hears that the copy is up, so requests queued for the model go to it at once,
    /// and how long the load took.
    /// A load that runs far past its prediction is given up (`StuckLoadWatch`).
    func startCarriedLoad(_ call: FarmCall, on lease: Lease) async -> Task<CarriedLoadEnd, Never>? {
        guard let load = call.sent(on: lease).loadOnly() else { return nil }
        let watched = await stuckLoadWatch.begin(lease)
        // Sent from the client's task: a client already gone sends nothing. It returns once the
        // request has gone out and a moment more (`callGap`), so that Ollama takes it before the
        // call: sent at once on another connection, the call sometimes arrived first and started
        // the load itself, and a client that left then aborted it.
        let sending = await open(load, on: lease.nodeConfig, overdueAt: watched.startedAt + Self.callGap)
        // An unstructured task: it is not cancelled with the client's.
        return Task { [self] () -> CarriedLoadEnd in
            let opened: NodeOpening
            switch sending {
            case .finished: opened = sending
            case .overdue(let pending): opened = await finishOpening(pending, on: lease, overdueAt: watched.deadline)
            }
            switch opened {
            case .overdue:
                // Dropping the exchange closes its connection.
                return .failed(await watched.giveUp(logger: logger))
            case .finished(.failure(let failure)):
                return .failed(failure)
            case .finished(.success(let response)):
                // Ollama's answer to a load-only request is one small object, after the load.
                _ = try? await response.collect(limit: 64 * 1024)
                response.close()
                let seconds = Self.seconds(watched.startedAt.duration(to: .now))
                await lease.loadCarried(realSeconds: seconds)
                return .loaded
            }
        }
    }
}
