import Balancer
import HTTP1
import Health
import WireFormats

/// Asks `/api/show` about each pulled model once (by digest), in the background after a probe
/// round, for what sets its automatic context length (`ModelContextFacts`); a model whose node
/// failed to answer is asked again after `retrySeconds`.
actor ModelDescriber {
    static let retrySeconds = 60.0
    /// At most this many questions out at once, so a farm of many models is asked a few at a time.
    static let concurrentAsks = 4

    private let cluster: Cluster
    private let client: HTTPClient
    private let timeouts: HTTPClientTimeouts
    private let logger: Logger
    private let loads: BackgroundLoads
    private var asking: Set<String> = []
    private var failedAt: [String: Double] = [:]

    init(cluster: Cluster, client: HTTPClient, timeout: Duration, logger: Logger, loads: BackgroundLoads) {
        self.cluster = cluster
        self.client = client
        self.timeouts = HTTPClientTimeouts(connect: timeout, responseHead: timeout, idleRead: timeout)
        self.logger = logger
        self.loads = loads
    }

    /// Starts asking about the models no answer is kept for, without waiting for the answers.
    func describeNew() async {
        await refreshSharedRunners()
        let now = cluster.now
        for item in await cluster.modelsToDescribe() where asking.count < Self.concurrentAsks && !asking.contains(item.key) {
            if let failed = failedAt[item.key], now - failed < Self.retrySeconds { continue }
            asking.insert(item.key)
            guard loads.submit({ await self.describe(item) }) else {
                asking.remove(item.key)
                return
            }
        }
    }

    /// Asks about every model no answer is kept for and waits for the answers: after a farm change
    /// (a pull, a model made, copied or deleted), so the first request for a new model is placed
    /// knowing its length and the runner it shares, not a probe round later.
    func describeAllNow() async {
        let items = await cluster.modelsToDescribe()
        await withTaskGroup(of: Void.self) { group in
            for item in items { group.addTask { await self.describe(item) } }
        }
        await refreshSharedRunners()
    }

    /// Works out again which models share a runner (`SharedRunners`): the nodes' lists and the
    /// answers both change it.
    private func refreshSharedRunners() async {
        for (model, lead) in await cluster.refreshRunnerAliases().sorted(by: { $0.key < $1.key }) {
            logger.info("\(model) shares \(lead)'s runner on every node that has it: placed as one model")
        }
    }

    private func describe(_ item: Cluster.ModelToDescribe) async {

        let facts = await ask(item)
        asking.remove(item.key)
        guard let facts else {
            failedAt[item.key] = cluster.now
            return
        }
        failedAt[item.key] = nil
        cluster.recordDescription(facts, key: item.key)
        await refreshSharedRunners()
        let modelfile = facts.modelfileLength.map { "num_ctx \($0)" } ?? "no num_ctx"
        let trained = facts.trainedLength.map { "trained for \($0)" } ?? "trained length not shown"
        logger.debug("model \(item.model): Modelfile sets \(modelfile), \(trained) (from /api/show on \(item.node.name))")
    }

    private nonisolated func ask(_ item: Cluster.ModelToDescribe) async -> ModelContextFacts? {
        let body: JSONValue = ["model": .string(item.displayName)]
        let request = HTTPClientRequest.toNode(item.node.url, path: "/api/show", body: body.serialized())
        do {
            let response = try await client.execute(request, timeouts: timeouts)
            let answer = try await response.collect(limit: 16 * 1024 * 1024)
            guard response.status == 200 else {
                logger.debug("/api/show for \(item.model) on \(item.node.name) answered \(response.status)")
                return nil
            }
            return try ProbeDecoding.contextFacts(fromShow: answer)
        } catch {
            logger.debug("/api/show for \(item.model) on \(item.node.name) failed: \(error)")
            return nil
        }
    }
}
