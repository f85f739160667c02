import Balancer
import Synchronization
import WireFormats

/// What the status page charts: the farm over the last hour, sampled every `interval` seconds into
/// a fixed ring of `capacity` samples. Each sample holds requests/s, time to first token (p50,
/// p95) of the requests that finished in it, cold loads and evictions in it, queue depth per model
/// and which models were loaded on which node. Memory is bounded by the ring: a sample is about
/// 100 bytes plus 24 bytes per queued model and per loaded model on each node, so 720 samples of
/// a 10-node farm with 3 models per node take under 300 KB.
final class FarmHistory: Sendable {
    struct Sample: Sendable {
        /// Wall-clock seconds.
        var at: Double
        var requestsPerSecond: Double
        var ttftP50Ms: Double?
        var ttftP95Ms: Double?
        var coldLoads: Int
        var evictions: Int
        var queued: [String: Int]
        /// Node name → models loaded there.
        var loaded: [String: [String]]
    }

    static let interval = 5.0
    static let capacity = 720  // an hour at 5 s

    private struct State {
        var ring: [Sample] = []
        var next = 0
        /// Times to first token (ms) and the request count since the last sample.
        var pendingTTFT: [Double] = []
        var pendingRequests = 0
        var lastColdLoads: Int?
        var lastEvictions: Int?
    }

    private let state = Mutex(State())

    /// Called for every finished request.
    func record(ttftSeconds: Double?) {
        state.withLock { state in
            state.pendingRequests += 1
            if let ttftSeconds, state.pendingTTFT.count < 100_000 { state.pendingTTFT.append(ttftSeconds * 1000) }
        }
    }

    /// Closes the current interval with the farm as `snapshots` show it.
    func sample(at wallClock: Double, snapshots: [NodeSnapshot], queued: [ModelName: Int], elapsed: Double) {
        let coldLoads = snapshots.reduce(0) { $0 + $1.coldLoadsStarted }
        let evictions = snapshots.reduce(0) { $0 + $1.evictionsByModel.values.reduce(0, +) }
        var loaded: [String: [String]] = [:]
        for node in snapshots { loaded[node.name] = node.loaded.keys.map(\.canonical).sorted() }
        state.withLock { state in
            let ttfts = state.pendingTTFT.sorted()
            let sample = Sample(
                at: wallClock, requestsPerSecond: Double(state.pendingRequests) / max(elapsed, 0.001),
                ttftP50Ms: ttfts.isEmpty ? nil : Self.percentile(ttfts, 0.5), ttftP95Ms: ttfts.isEmpty ? nil : Self.percentile(ttfts, 0.95),
                coldLoads: max(0, coldLoads - (state.lastColdLoads ?? coldLoads)),
                evictions: max(0, evictions - (state.lastEvictions ?? evictions)),
                queued: Dictionary(uniqueKeysWithValues: queued.map { ($0.key.canonical, $0.value) }), loaded: loaded)
            state.pendingTTFT.removeAll(keepingCapacity: true)
            state.pendingRequests = 0
            state.lastColdLoads = coldLoads
            state.lastEvictions = evictions
            if state.ring.count < Self.capacity {
                state.ring.append(sample)
            } else {
                state.ring[state.next] = sample
            }
            state.next = (state.next + 1) % Self.capacity
        }
    }

    /// Oldest first.
    var samples: [Sample] {
        state.withLock { state in
            state.ring.count < Self.capacity ? state.ring : Array(state.ring[state.next...] + state.ring[..<state.next])
        }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    /// The samples as `/status` shows them.
    var json: JSONValue {
        let samples = self.samples
        return [
            "intervalSeconds": .double(Self.interval),
            "samples": .array(
                samples.map { sample in
                    [
                        "at": .double((sample.at * 10).rounded() / 10),
                        "requestsPerSecond": .double((sample.requestsPerSecond * 100).rounded() / 100),
                        "ttftP50Ms": sample.ttftP50Ms.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                        "ttftP95Ms": sample.ttftP95Ms.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                        "coldLoads": .int(Int64(sample.coldLoads)), "evictions": .int(Int64(sample.evictions)),
                        "queued": .object(
                            JSONObject(sample.queued.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int(Int64($0.value))) })),
                        "loaded": .object(
                            JSONObject(
                                sample.loaded.sorted { $0.key < $1.key }.map { (key: $0.key, value: .array($0.value.map { .string($0) })) })
                        ),
                    ]
                }),
        ]
    }
}
