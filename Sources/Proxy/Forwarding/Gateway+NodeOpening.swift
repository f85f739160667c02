import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// Sends the call to `node` and waits for the response head; an error status becomes a typed failure.
    func open(_ call: FarmCall, on node: ClusterConfig.NodeConfig) async -> Result<HTTPClientResponse, UpstreamFailure> {
        switch await open(call, on: node, overdueAt: nil) {
        case .finished(let result): return result
        case .overdue(let pending): return await finishOpening(pending, on: node)
        }
    }

    /// What sending a call to a node gave by the moment the caller wanted to hear back.
    enum NodeOpening {
        case finished(Result<HTTPClientResponse, UpstreamFailure>)
        /// No response head yet: the exchange goes on, for `finishOpening` to wait out.
        case overdue(HTTPPendingResponse)
    }

    /// Sends the call to `node` and waits for the response head until `overdueAt` at most.
    func open(_ call: FarmCall, on node: ClusterConfig.NodeConfig, overdueAt: ContinuousClock.Instant?) async -> NodeOpening {
        let upstream = HTTPClientRequest.toNode(
            node.url, path: call.path, body: call.body, accept: "application/json, application/x-ndjson")
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

    /// Waits on for the response head of a call that `open(_:on:overdueAt:)` found overdue.
    func finishOpening(_ pending: HTTPPendingResponse, on node: ClusterConfig.NodeConfig) async
        -> Result<HTTPClientResponse, UpstreamFailure>
    {
        let response: HTTPClientResponse
        do {
            response = try await client.response(to: pending)
        } catch {
            return .failure(UpstreamFailure.fromTransport(error, upstream: "node \(node.name)"))
        }
        return await accepted(response, from: node)
    }

    /// The response when the node answered 200; otherwise its error as a typed failure.
    private func accepted(_ response: HTTPClientResponse, from node: ClusterConfig.NodeConfig) async
        -> Result<HTTPClientResponse, UpstreamFailure>
    {
        guard response.status == 200 else {
            let body = (try? await response.collect(limit: 1024 * 1024)) ?? []
            let message = (try? JSONParser.parse(body))?["error"].flatMap(StreamChunkFacts.errorText)
            return .failure(.fromStatus(response.status, message: message ?? "node \(node.name) answered \(response.status)"))
        }
        return .success(response)
    }
}
