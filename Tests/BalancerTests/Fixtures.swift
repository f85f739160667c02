import Foundation

@testable import Balancer

/// A deterministic generator (the balancer's own SplitMix64) so placement is tested without chance.
typealias SeededGenerator = FastRandom

extension FastRandom {
    init(state: UInt64) { self.init(seed: state) }
}

let gigabyte: Int64 = 1_000_000_000

/// The benchmark farm's eight models, in tenths of a GB on nodes described with `vramGB: 160`
/// (the fixtures count whole units), so Ollama's 80 % rule applies as on the benchmark's 16 GB nodes.
let benchmarkModelSizes: [String: Int64] = [
    "llama3.2": 20, "phi3": 22, "gemma2:2b": 26, "mistral": 41, "llama3.1": 47, "qwen2.5": 47, "gemma2:9b": 54, "codellama": 74,
]

/// A node snapshot built from a compact description; model sizes are 2 GB unless given.
func node(
    _ index: Int, health: NodeHealth = .healthy, pulled: [String: Int64] = ["llama3.2": 2], loaded: [String] = [],
    loading: [String: LoadInProgress] = [:], draining: [String] = [], comebacks: [String] = [], inFlight: [String: Int] = [:],
    lastUsed: [String: Double] = [:],
    service: [String: Double] = [:], weight: Int = 100, priority: Int = 0, maxParallel: Int = 2, vramGB: Double? = nil,
    maxLoaded: Int = 3, loadRate: Double? = nil, loadedAt: [String: Double] = [:], observed: ObservedLimits = ObservedLimits(),
    runnerOverheadGB: Int64 = 0
) -> NodeSnapshot {
    func name(_ text: String) -> ModelName { ModelName(text)! }
    let pulledModels = pulled.map { PulledModel(name: name($0.key), displayName: $0.key, sizeBytes: $0.value * gigabyte, digest: "d") }
    let loadedModels = loaded.map { model -> LoadedModel in
        let size = ((pulled[model] ?? 2) + runnerOverheadGB) * gigabyte
        return LoadedModel(name: name(model), sizeBytes: size, vramBytes: size, expiresAt: nil)
    }
    var config = ClusterConfig.NodeConfig(name: "n\(index)", url: NodeURL("http://127.0.0.1:\(1000 + index)")!)
    config.weight = weight
    config.priority = priority
    config.maxParallel = maxParallel
    config.vramGB = vramGB
    config.maxLoadedModels = maxLoaded
    let pulledByName = Dictionary(uniqueKeysWithValues: pulledModels.map { ($0.name, $0) })
    var runnerSizes = RunnerSizes()
    runnerSizes.learn(loaded: loadedModels, pulled: pulledByName)
    return NodeSnapshot(
        index: index, id: config.id, config: config, health: health,
        pulled: Dictionary(uniqueKeysWithValues: pulledModels.map { ($0.name, $0) }),
        loaded: Dictionary(uniqueKeysWithValues: loadedModels.map { ($0.name, $0) }),
        loading: Dictionary(uniqueKeysWithValues: loading.map { (name($0.key), $0.value) }),
        draining: Dictionary(
            uniqueKeysWithValues: draining.map { model in
                let size = ((pulled[model] ?? 2) + runnerOverheadGB) * gigabyte
                return (name(model), LoadedModel(name: name(model), sizeBytes: size, vramBytes: size, expiresAt: nil))
            }),
        comebacksAwaitingDrain: Set(comebacks.map(name)),
        inFlight: Dictionary(uniqueKeysWithValues: inFlight.map { (name($0.key), $0.value) }),
        lastUsed: Dictionary(uniqueKeysWithValues: lastUsed.map { (name($0.key), $0.value) }), learnedLoadSecondsPerGB: loadRate,
        serviceSeconds: Dictionary(uniqueKeysWithValues: service.map { (name($0.key), $0.value) }), coldLoadsStarted: 0, lastProbe: nil,
        loadedAt: Dictionary(uniqueKeysWithValues: loadedAt.map { (name($0.key), $0.value) }), observedLimits: observed,
        coldLoadsByModel: [:],
        evictionsByModel: [:], runnerSizes: runnerSizes)
}

/// A cluster of one healthy node (real actors, no sockets) that has `pulled` models of 2 GB each and
/// nothing loaded, past its first probe round.
func singleNodeCluster(
    pulled: [ModelName], maxParallel: Int = 1, maxLoaded: Int = 3, queue: ClusterConfig.QueueSettings = ClusterConfig.QueueSettings()
) async -> Cluster {
    var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: maxParallel)
    config.maxLoadedModels = maxLoaded
    let cluster = Cluster(nodes: [config], queue: queue, random: SeededGenerator(state: 1))
    let models = pulled.map { PulledModel(name: $0, displayName: $0.description, sizeBytes: 2 * gigabyte, digest: "d") }
    await cluster.nodes[0].apply(
        ProbeReport(pulled: models, loaded: []), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
    await cluster.nodes[0].setHealth(.healthy)
    cluster.markFirstProbeRoundComplete()
    return cluster
}

/// Two nodes "a" and "b" with one slot and room for one model each, probed healthy with the models
/// given per node (sizes in GB) pulled; a queue of 32 with a 30 s limit.
func twoOneModelNodes(pulled: [[ModelName: Int64]]) async -> Cluster { await oneModelNodes(pulled: pulled) }

/// A cluster of one node per entry of `pulled` (named `a`, `b`, …), each with one slot and room for one model.
func oneModelNodes(pulled: [[ModelName: Int64]]) async -> Cluster {
    let configs = pulled.indices.map { String(UnicodeScalar(UInt8(97 + $0))) }.map { name in
        var config = ClusterConfig.NodeConfig(name: name, url: NodeURL("http://\(name):1")!, maxParallel: 1)
        config.maxLoadedModels = 1
        return config
    }
    let cluster = Cluster(
        nodes: configs, queue: ClusterConfig.QueueSettings(maxLength: 32, maxWaitMs: 30_000), random: SeededGenerator(state: 1))
    for (node, sizes) in zip(cluster.nodes, pulled) {
        let models = sizes.map { PulledModel(name: $0.key, displayName: $0.key.description, sizeBytes: $0.value * gigabyte, digest: "d") }
        await node.apply(
            ProbeReport(pulled: models, loaded: []), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil), now: 0)
        await node.setHealth(.healthy)
    }
    cluster.markFirstProbeRoundComplete()
    return cluster
}

/// A farm of `nodeCount` nodes of 16 GB, each holding up to three of `modelCount` models (`model0`,
/// `model1`, …; 2.0-7.4 GB, in tenths of a GB) drawn at random from `seed`. A share of the copies
/// may be young (loaded at 990 s) or busy (one request in flight).
func randomFarm(nodeCount: Int, modelCount: Int, seed: UInt64, youngShare: Double = 0, busyShare: Double = 0) -> [NodeSnapshot] {
    var random = FastRandom(seed: seed)
    func unit() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
    let names = (0..<modelCount).map { "model\($0)" }
    var sizes: [String: Int64] = [:]
    for name in names { sizes[name] = Int64(20 + unit() * 54) }
    return (0..<nodeCount).map { index in
        var loaded: [String] = []
        var used: Int64 = 0
        while loaded.count < 3 {
            let name = names[Int(unit() * Double(names.count))]
            if loaded.contains(name) || used + sizes[name]! > 160 { break }
            loaded.append(name)
            used += sizes[name]!
        }
        let loadedAt = youngShare > 0 ? Dictionary(uniqueKeysWithValues: loaded.map { ($0, unit() < youngShare ? 990.0 : 0) }) : [:]
        let inFlight = busyShare > 0 ? Dictionary(uniqueKeysWithValues: loaded.filter { _ in unit() < busyShare }.map { ($0, 1) }) : [:]
        return node(index, pulled: sizes, loaded: loaded, inFlight: inFlight, vramGB: 160, maxLoaded: 3, loadRate: 0.15, loadedAt: loadedAt)
    }
}

/// Zipf demand over `randomFarm`'s models: `model0` asked for `topRate` times a second, 1.3 s answers.
func zipfDemand(modelCount: Int, topRate: Double) -> [ModelName: CapacityPlanner.Demand] {
    Dictionary(
        uniqueKeysWithValues: (0..<modelCount).map { rank in
            (ModelName("model\(rank)")!, CapacityPlanner.Demand(rate: topRate / pow(Double(rank + 1), 1.1), serviceSeconds: 1.3))
        })
}

extension Cluster {
    /// Every node but the one at `index`: what a request excludes to be placed there.
    func nodes(otherThan index: Int) -> Set<NodeID> {
        Set(nodes.indices.filter { $0 != index }.map { nodes[$0].id })
    }
}

/// A cluster of one healthy node holding `model` (2 GB), its runner loaded in turn for each of
/// `runners`: for what TensorWall asked (nil: loaded before TensorWall started), then shown at
/// `shown` by a probe sent after it (`RunnerContexts`).
func clusterHolding(_ model: ModelName, runners: [(asked: RunnerContexts.Asked?, shown: Int)]) async -> Cluster {
    let cluster = Cluster(nodes: [ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)])
    let node = cluster.nodes[0]
    let pulled = PulledModel(name: model, displayName: model.canonical, sizeBytes: 2 * gigabyte, digest: "d")
    for (step, runner) in runners.enumerated() {
        let time = Double(2 * step)
        switch runner.asked {
        case .automatic?: await node.runnerAsked(model, contextLength: nil, now: time)
        case .length(let length)?: await node.runnerAsked(model, contextLength: length, now: time)
        case nil: break
        }
        let loaded = LoadedModel(
            name: model, sizeBytes: 2 * gigabyte, vramBytes: 2 * gigabyte, expiresAt: nil, contextLength: runner.shown)
        _ = await node.apply(
            ProbeReport(pulled: [pulled], loaded: [loaded]),
            outcome: ProbeOutcome(at: time + 1, succeeded: true, latencyMs: 1, error: nil), now: time + 1, sentAt: time + 1)
    }
    await node.setHealth(.healthy)
    return cluster
}

/// Polls until `condition` holds (a request has queued, say), for up to about 10 s: what the actors
/// do next is not ours to await.
func waitUntil(_ condition: () -> Bool) async {
    for _ in 0..<10_000 where !condition() { try? await Task.sleep(for: .milliseconds(1)) }
}

/// A healthy node actor (no sockets) named `a`, with two parallel slots, past one probe at time 0
/// that showed `pulled` (sizes in GB) and `loaded` of them in VRAM: the node the actor-level tests
/// start from.
func probedNode(
    pulled: [ModelName: Double], loaded: [ModelName] = [], vramGB: Double? = nil, maxLoadedModels: Int = 3
) async -> OllamaNode {
    var config = ClusterConfig.NodeConfig(name: "a", url: NodeURL("http://a:1")!, maxParallel: 2)
    config.vramGB = vramGB
    config.maxLoadedModels = maxLoadedModels
    let node = OllamaNode(config: config)
    await node.setHealth(.healthy)
    func bytes(_ model: ModelName) -> Int64 { Int64((pulled[model] ?? 2) * 1e9) }
    let pulledModels = pulled.keys.map { PulledModel(name: $0, displayName: $0.canonical, sizeBytes: bytes($0), digest: "d") }
    let loadedModels = loaded.map { LoadedModel(name: $0, sizeBytes: bytes($0), vramBytes: bytes($0), expiresAt: nil) }
    await node.apply(
        ProbeReport(pulled: pulledModels, loaded: loadedModels), outcome: ProbeOutcome(at: 0, succeeded: true, latencyMs: 1, error: nil),
        now: 0)
    return node
}
