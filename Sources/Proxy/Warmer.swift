import Balancer
import HTTP1

/// Keeps the models of the config's `warm` list loaded on as many nodes as it asks for, with
/// Ollama's preload idiom (an empty generate request), and loads them again after an eviction.
/// The load is claimed on the node actor first, so placement sees it as a load under way.
struct Warmer: Sendable {
    let cluster: Cluster
    let client: HTTPClient
    let targets: [(model: ModelName, nodes: Int)]
    let keepAlive: JSONValue
    let timeouts: HTTPClientTimeouts
    let logger: Logger

    init(config: ClusterConfig, cluster: Cluster, client: HTTPClient, timeouts: HTTPClientTimeouts, logger: Logger) {
        self.cluster = cluster
        self.client = client
        self.targets = config.warm.compactMap { entry in ModelName(entry.key).map { ($0, entry.value) } }.sorted { $0.model < $1.model }
        self.keepAlive = config.keepAlive ?? -1
        self.timeouts = timeouts
        self.logger = logger
    }

    var isEmpty: Bool { targets.isEmpty }

    /// Starts the loads the warm list is missing; returns once they are started.
    func topUp() async {
        let snapshots = await cluster.snapshots()
        let now = cluster.now
        for (model, wanted) in targets {
            let resident = snapshots.filter { $0.health == .healthy && ($0.isLoaded(model) || $0.isLoading(model)) }.count
            guard resident < wanted else { continue }
            let candidates = snapshots.filter {
                $0.health == .healthy && $0.hasPulled(model) && !$0.isLoaded(model) && !$0.isLoading(model)
            }
            .map { (node: $0, estimate: cluster.costModel.estimate(model, on: $0, now: now, demand: { _ in 0 }, farmServiceSeconds: nil)) }
            .filter { $0.estimate.startsNow }
            .sorted { $0.estimate.seconds < $1.estimate.seconds }
            for candidate in candidates.prefix(wanted - resident) {
                let node = cluster.nodes[candidate.node.index]
                let predicted = cluster.costModel.predictedLoadSeconds(model, on: candidate.node)
                guard await node.tryAcquire(model, claim: .coldLoad(predictedSeconds: predicted), now: cluster.now) else { continue }
                let lease = Lease(
                    cluster: cluster, node: node, model: model, claim: .coldLoad(predictedSeconds: predicted), startedAt: cluster.now)
                Task { await preload(lease, on: candidate.node.config) }
            }
        }
    }

    private func preload(_ lease: Lease, on node: ClusterConfig.NodeConfig) async {
        let body: JSONValue = ["model": .string(lease.model.canonical), "prompt": "", "stream": false, "keep_alive": keepAlive]
        let request = HTTPClientRequest(
            method: "POST", host: node.url.host, port: node.url.port, target: node.url.basePath + "/api/generate",
            headers: ["Content-Type": "application/json"], body: body.serialized())
        do {
            let response = try await client.execute(request, timeouts: timeouts)
            let answer = try JSONParser.parse(try await response.collect(limit: 1024 * 1024))
            guard response.status == 200 else {
                logger.warning(
                    "warming \(lease.model) on \(node.name) failed: \(answer["error"]?.stringValue ?? "status \(response.status)")")
                return await lease.release(.failed)
            }
            logger.info("warmed \(lease.model) on node \(node.name)")
            await lease.release(RequestOutcome(succeeded: true, loadSeconds: answer["load_duration"]?.intValue.map { Double($0) / 1e9 }))
        } catch {
            logger.warning("warming \(lease.model) on \(node.name) failed: \(error)")
            await lease.release(.failed)
        }
    }
}
