import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// Sends the call to the lease's node and waits for the response head; an error status becomes
    /// a typed failure.
    func open(_ call: FarmCall, on lease: Lease) async -> Result<HTTPClientResponse, UpstreamFailure> {
        await open(call, on: lease, overdueAt: nil).withoutDeadline
    }

    /// Sends the call to the lease's node and waits for the response head until `overdueAt` (nil:
    /// until the head timeout), asking every probe interval whether the node is still in service
    /// (see `finishOpening`). A hedge's timer counts from a prediction and may run long; waited out
    /// in one piece, a request sent to a node that hung waited 13 s of farm time after the probes had
    /// taken the node out.
    func open(_ call: FarmCall, on lease: Lease, overdueAt deadline: ContinuousClock.Instant?) async -> NodeOpening {
        let check = ContinuousClock.now + serviceCheckInterval
        switch await open(call.sent(on: lease), on: lease.nodeConfig, overdueAt: deadline.map { min($0, check) } ?? check) {
        case .finished(let result): return .finished(result)
        case .overdue(let pending):
            if let deadline, ContinuousClock.now >= deadline { return .overdue(pending) }
            return await finishOpening(pending, on: lease, overdueAt: deadline)
        }
    }

    /// How often a request still waiting for its response head asks whether its node is in service:
    /// the probe interval, since only a probe changes the answer.
    var serviceCheckInterval: Duration {
        .milliseconds(max(10, config.health.intervalMs))
    }

    /// What sending a call to a node gave by the moment the caller wanted to hear back.
    enum NodeOpening {
        case finished(Result<HTTPClientResponse, UpstreamFailure>)
        /// No response head yet: the exchange goes on, for `finishOpening` to wait out.
        case overdue(HTTPPendingResponse)

        /// The result of an opening given no deadline, which only ever finishes.
        var withoutDeadline: Result<HTTPClientResponse, UpstreamFailure> {
            guard case .finished(let result) = self else { preconditionFailure("an exchange with no deadline handed back overdue") }
            return result
        }
    }

    /// Sends the call to `node` and waits for the response head until `overdueAt` at most.
    func open(_ call: FarmCall, on node: ClusterConfig.NodeConfig, overdueAt: ContinuousClock.Instant?) async -> NodeOpening {
        let upstream = HTTPClientRequest.toNode(
            node.url, path: call.path, body: call.body, contentType: call.contentType, accept: "application/json, application/x-ndjson")
        let progress: HTTPClientProgress
        do {
            progress = try await client.execute(upstream, timeouts: upstreamTimeouts, overdueAt: overdueAt)
        } catch {
            return .finished(.failure(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)")))
        }
        switch progress {
        case .response(let response): return .finished(await accepted(response, from: node))
        case .overdue(let pending): return .overdue(pending)
        }
    }

    /// Waits on for the response head of a call that `open(_:on:overdueAt:)` found overdue, up to the
    /// head timeout, unless the probes take the node out of service first: then the exchange is
    /// dropped (closing its connection) and another node may serve the call. Left to the head
    /// timeout (five minutes by default, as a cold load may take long), a request sent to a node
    /// that then hung waited 50-80 s for it to restart on the placement benchmark's node outage.
    func finishOpening(_ pending: HTTPPendingResponse, on lease: Lease) async -> Result<HTTPClientResponse, UpstreamFailure> {
        await finishOpening(pending, on: lease, overdueAt: nil).withoutDeadline
    }

    /// `finishOpening`, handing the exchange back still in progress at `overdueAt`.
    func finishOpening(_ pending: HTTPPendingResponse, on lease: Lease, overdueAt deadline: ContinuousClock.Instant?) async
        -> NodeOpening
    {
        let node = lease.nodeConfig
        var pending = pending
        while true {
            if await lease.node.isOutOfService {
                return .finished(.failure(.nodeLeftService("node \(node.name) was taken out of service before it answered")))
            }
            // A request waiting for a load, on a node whose loads were given up as stuck
            // (`StuckLoadWatch`), waits for nothing: Ollama loads one model at a time.
            if lease.claim == .joinLoad || lease.claim.isColdLoad, await lease.node.loadsLookStuck {
                return .finished(.failure(.loadStuck("node \(node.name) gave up loading \(lease.model): its loads look stuck")))
            }
            let check = ContinuousClock.now + serviceCheckInterval
            let progress: HTTPClientProgress
            do {
                progress = try await client.response(to: pending, overdueAt: deadline.map { min($0, check) } ?? check)
            } catch {
                return .finished(.failure(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)")))
            }
            switch progress {
            case .response(let response):
                return .finished(await accepted(response, from: node))
            case .overdue(let stillPending):
                if let deadline, ContinuousClock.now >= deadline { return .overdue(stillPending) }
                pending = stillPending
            }
        }
    }

    /// The response when the node answered 200; otherwise its error as a typed failure.
    private func accepted(_ response: HTTPClientResponse, from node: ClusterConfig.NodeConfig) async
        -> Result<HTTPClientResponse, UpstreamFailure>
    {
        guard response.status == 200 else {
            let body = (try? await response.collect(limit: 1024 * 1024)) ?? []
            let message = (try? JSONParser.parse(body))?["error"].flatMap(StreamChunkFacts.errorText)
            if response.status == 404, message == nil, body.starts(with: Array("404 page not found".utf8)) {
                // Gin's answer for a path it has no route for: an Ollama older than the API
                // (`/v1/messages` and `/v1/responses` are recent), not a model it lacks.
                return .failure(
                    .routeAbsent("node \(node.name) has no route for this API (it answered 404 page not found): its Ollama may predate it"))
            }
            return .failure(.fromStatus(response.status, message: message ?? "node \(node.name) answered \(response.status)"))
        }
        return .success(response)
    }
}
