import APITranslation
import Balancer
import HTTP1
import WireFormats

/// Loads a model on a node before any request needs it, with Ollama's preload idiom (an empty
/// generate request). The load is claimed on the node actor first, so placement sees it as a
/// load under way and requests join it instead of starting another.
struct Preloader: Sendable {
    let cluster: Cluster
    let client: HTTPClient
    let timeouts: HTTPClientTimeouts
    let logger: Logger
    /// Where the loads run, so they outlive the probe round that started them but not shutdown.
    let loads: BackgroundLoads
    /// The shortest wait for a drain (cluster seconds); tests shorten it.
    var minimumDrainSeconds = ModelUnloader.minimumDrainSeconds
    /// Gives up a load that runs far past its prediction (off unless the gateway sets it).
    var stuckLoadWatch = StuckLoadWatch(marginMs: 0, timeScale: 1)
    var unloader: ModelUnloader { ModelUnloader(cluster: cluster, client: client, timeouts: timeouts, logger: logger) }

    /// Claims the load and runs it in the background; false when the node no longer accepts the claim.
    /// - Parameters:
    ///   - evicting: idle models to unload on the node first, so Ollama makes room by dropping the
    ///     ones the planner chose rather than ones it picks itself.
    ///   - comingBack: victims to load back on the node right after `model`, in this order
    ///     (`CapacityPlanner.Move.comingBack`). Each is claimed as soon as its copy is gone (an idle
    ///     one at once, a busy one once it has drained, and so after the idle ones), so placement and
    ///     the planner see it coming; they load in the order claimed.
    ///   - keepAlive: sent as `keep_alive`; nil leaves the node's default.
    func start(
        _ model: ModelName, on snapshot: NodeSnapshot, evicting: [ModelName] = [], comingBack: [ModelName] = [], keepAlive: JSONValue?,
        reason: String
    ) async -> Bool {
        guard let lease = await cluster.claimPlannedLoad(model, on: snapshot, evicting: evicting) else { return false }
        let unloading = evicting.isEmpty ? "" : ", unloading \(evicting.map(\.canonical).joined(separator: ", "))"
        let busy = evicting.filter { snapshot.inFlight($0) > 0 }
        let draining =
            busy.isEmpty ? "" : " (\(busy.map(\.canonical).joined(separator: ", ")) once \(busy.count == 1 ? "its" : "their") requests end)"
        let back = comingBack.isEmpty ? "" : ", then \(comingBack.map(\.canonical).joined(separator: ", ")) back"
        logger.info("loading \(model) on node \(snapshot.name) ahead of requests (\(reason))\(unloading)\(draining)\(back)")
        let claimedAtOnce = await claimComebacks(comingBack.filter { !busy.contains($0) }, on: snapshot, after: lease)
        // A busy victim's copy is gone only once it has drained; until its load back is claimed,
        // placement shows it coming.
        let drained = comingBack.filter { busy.contains($0) }
        if !drained.isEmpty { await lease.node.expectComebacks(drained, after: model) }
        let submitted = loads.submit {
            var comebacks = claimedAtOnce
            guard await unloader.drain(for: lease, minimumSeconds: minimumDrainSeconds) else {
                await giveBack(comebacks)
                return
            }
            if !drained.isEmpty {
                comebacks += await claimComebacks(drained, on: snapshot, after: comebacks.last ?? lease)
                cluster.capacityChanged()  // requests queued for a comeback join it now, or look again if it was not taken
            }
            for victim in evicting { await unloader.unload(victim, on: snapshot.config) }
            await lease.node.unloadsSent(for: model)
            await run(lease, on: snapshot.config, keepAlive: keepAlive)
            for comeback in comebacks {
                await comeback.node.unloadsSent(for: comeback.model)
                await run(comeback, on: snapshot.config, keepAlive: keepAlive)
            }
        }
        if !submitted {  // shutting down: give the claims back, and let any request that joined them go
            await lease.node.forgetComebacks(drained)
            await giveBack([lease] + claimedAtOnce)
        }
        return submitted
    }

    /// Claims the loads that bring `models` back after `lead`, each after the one before.
    private func claimComebacks(_ models: [ModelName], on snapshot: NodeSnapshot, after lead: Lease) async -> [Lease] {
        var claimed: [Lease] = []
        for model in models {
            if let comeback = await cluster.claimComeback(model, on: snapshot, after: claimed.last ?? lead) { claimed.append(comeback) }
        }
        return claimed
    }

    /// Loads that will not run: their claims end, and requests that joined them go.
    private func giveBack(_ leases: [Lease]) async {
        for lease in leases {
            await lease.node.unloadsSent(for: lease.model)
            await lease.release(.unservedNoFault)
        }
    }

    private func run(_ lease: Lease, on node: ClusterConfig.NodeConfig, keepAlive: JSONValue?) async {
        var fields: [(key: String, value: JSONValue)] = [("model", .string(lease.model.canonical)), ("prompt", ""), ("stream", false)]
        if let keepAlive { fields.append(("keep_alive", keepAlive)) }
        // Loaded for the context length the model's requests ask (`RunnerContexts`): loaded for
        // another, the copy would be reloaded by its first request, or left out by placement.
        var snapshot = lease.node.publishedSnapshot(index: 0)
        if snapshot == nil { snapshot = await lease.node.snapshot(index: 0) }
        let contextLength = snapshot.flatMap { cluster.usualContextLength(lease.model, on: $0) }
        if let contextLength { fields.append(("options", .object(["num_ctx": .int(Int64(contextLength))]))) }
        await lease.node.runnerAsked(lease.model, contextLength: contextLength, now: cluster.now)
        let body = JSONValue.object(JSONObject(fields))
        let request = HTTPClientRequest.toNode(node.url, path: "/api/generate", body: body.serialized())
        let watched = await stuckLoadWatch.begin(lease)
        let started = watched.startedAt
        do {
            let response: HTTPClientResponse
            switch try await client.execute(request, timeouts: timeouts, overdueAt: watched.deadline) {
            case .response(let answered):
                response = answered
            case .overdue:
                // Dropping the exchange closes its connection.
                await lease.release(await watched.giveUp(logger: logger).requestOutcome)
                return
            }
            let answer = try JSONParser.parse(try await response.collect(limit: 1024 * 1024))
            guard response.status == 200 else {
                let message = answer["error"].flatMap(StreamChunkFacts.errorText) ?? "status \(response.status)"
                logger.warning("loading \(lease.model) on \(node.name) failed: \(message)")
                await lease.release(UpstreamFailure.fromStatus(response.status, message: message).requestOutcome)
                return
            }
            logger.info("loaded \(lease.model) on node \(node.name)")
            // Ollama's answer to a preload carries no load_duration: the time the preload took is the
            // load's (in real seconds, as a reported one would be), and the only lesson in load speed
            // the planner's own loads give.
            let reported = StreamChunkFacts(answer).loadDuration.map { Double($0) / 1e9 }
            var outcome = RequestOutcome(succeeded: true, loadSeconds: reported ?? Gateway.seconds(started.duration(to: .now)))
            outcome.loadTimedHere = reported == nil
            outcome.heldSlotForAnswer = false
            await lease.release(outcome)
        } catch {
            logger.warning("loading \(lease.model) on \(node.name) failed: \(error)")
            await lease.release(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)").requestOutcome)
        }
    }
}
