import Foundation

/// Recent request rate per model (requests per second, exponentially decayed), so placement can
/// tell an idle model nobody wants from one that will be asked for again in a moment.
struct DemandTracker: Sendable {
    static let timeConstantSeconds = 30.0
    private var rates: [ModelName: (rate: Double, at: Double)] = [:]

    mutating func record(_ model: ModelName, now: Double) {
        let current = rate(model, now: now)
        rates[model] = (current + 1 / Self.timeConstantSeconds, now)
    }

    func rate(_ model: ModelName, now: Double) -> Double {
        guard let entry = rates[model] else { return 0 }
        return entry.rate * exp(-max(0, now - entry.at) / Self.timeConstantSeconds)
    }
}

/// Which node served each conversation, keyed by a hash of its messages so far, bounded in size.
struct ConversationMap: Sendable {
    let capacity: Int
    private var entries: [UInt64: (node: Int, stamp: UInt64)] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    func node(for key: UInt64) -> Int? { entries[key]?.node }

    mutating func remember(_ key: UInt64, node: Int) {
        clock += 1
        entries[key] = (node, clock)
        if entries.count > capacity {
            // Drop the older half at once so the cost is paid rarely.
            let cutoff = clock - UInt64(capacity / 2)
            entries = entries.filter { $0.value.stamp > cutoff }
        }
    }
}
