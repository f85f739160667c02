import Foundation

/// Recent request rate per model (requests per second, exponentially decayed), so placement can
/// tell an idle model nobody wants from one that will be asked for again in a moment, and the
/// capacity planner can size its copies. The time constant (45 s, a half-life of 31 s) follows a
/// popularity shift within two minutes while a model asked for every ten seconds still reads as
/// steady demand rather than as spikes. Measured on the placement benchmark: 60 s brought the
/// third copy of a newly hot model 160 s after a shift; 30 s and a 20 s fast average chased
/// bursts in steady state (more cold loads, p95 at 50 % load 2.4x the bound); 45 s followed the
/// shift sooner with steady state unchanged on two traces.
struct DemandTracker: Sendable {
    static let timeConstantSeconds = 45.0
    private var rates: [ModelName: (rate: Double, at: Double)] = [:]
    /// When tracking began. Until a time constant has passed, a decayed average still remembers the
    /// zero it started from and reads low; dividing by 1 − e^(−elapsed/τ) corrects that, so a
    /// fresh start sees its hot model as hot within seconds, not after a minute.
    private var startedAt: Double?

    mutating func record(_ model: ModelName, now: Double) {
        if startedAt == nil { startedAt = now - 1 }  // as if the first request came after one quiet second
        let current = decayed(model, now: now)
        rates[model] = (current + 1 / Self.timeConstantSeconds, now)
    }

    func rate(_ model: ModelName, now: Double) -> Double {
        guard let startedAt else { return 0 }
        let warmth = 1 - exp(-max(1, now - startedAt) / Self.timeConstantSeconds)
        return decayed(model, now: now) / warmth
    }

    private func decayed(_ model: ModelName, now: Double) -> Double {
        guard let entry = rates[model] else { return 0 }
        return entry.rate * exp(-max(0, now - entry.at) / Self.timeConstantSeconds)
    }

    /// Every model's rate now; models whose rate has decayed to almost nothing are left out.
    func rates(now: Double) -> [ModelName: Double] {
        var result: [ModelName: Double] = [:]
        for model in rates.keys {
            let value = rate(model, now: now)
            if value > 1e-4 { result[model] = value }
        }
        return result
    }

    /// Starts from a known rate (a state file written by an earlier run): as warm as a long run.
    mutating func seed(_ model: ModelName, rate: Double, now: Double) {
        startedAt = min(startedAt ?? now, now - 10 * Self.timeConstantSeconds)
        rates[model] = (rate, now)
    }
}

/// Which node served each conversation, keyed by a hash of its messages so far, bounded in size.
struct ConversationMap: Sendable {
    let capacity: Int
    private var entries: [UInt64: (node: NodeID, stamp: UInt64)] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    func node(for key: UInt64) -> NodeID? { entries[key]?.node }

    mutating func remember(_ key: UInt64, node: NodeID) {
        clock += 1
        entries[key] = (node, clock)
        if entries.count > capacity {
            // Drop the older half at once so the cost is paid rarely.
            let cutoff = clock - UInt64(capacity / 2)
            entries = entries.filter { $0.value.stamp > cutoff }
        }
    }
}
