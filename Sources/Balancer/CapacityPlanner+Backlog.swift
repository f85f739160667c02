import Foundation

extension CapacityPlanner {
    /// A queue for a model that a new copy would still find when it is warm. Erlang C prices the
    /// waiting of a steady state: with three copies of a hot model the farm keeps up, so a fourth
    /// saves little. But a cold start or a popularity shift leaves the model a queue that its copies
    /// drain only by what they serve beyond the arrivals: at 125 % load `codellama:13b` kept 40
    /// requests queued on two copies for 40 s, each new request waiting about 13 s behind them,
    /// while the planner, reading only the rate, gave the free load turns to other models. The
    /// queue's own waiting (the area under it until it drains) is what more copies save.
    struct Backlog: Equatable {
        /// Requests queued beyond one per slot answering now, left when a copy loaded now is warm.
        let requests: Double
        let rate: Double
        let serviceSeconds: Double
        /// The part of the horizon after that load.
        let seconds: Double

        /// Nil when no queue would be left: one as deep as the warm slots is what a busy copy has,
        /// and a queue the warm copies drain while a copy loads is gone before it could help.
        init?(demand: Demand, warmServers: Int, loadSeconds: Double, settings: Settings) {
            let excess = Double(demand.queued - warmServers)
            guard excess > 0, demand.serviceSeconds > 0, loadSeconds < settings.horizonSeconds else { return nil }
            let drainRate = Double(warmServers) / demand.serviceSeconds - demand.rate
            let left = excess - drainRate * loadSeconds
            guard left > 0 else { return nil }
            requests = left
            rate = demand.rate
            serviceSeconds = demand.serviceSeconds
            seconds = settings.horizonSeconds - loadSeconds
        }

        /// Seconds of waiting the queue adds over the rest of the horizon with `servers` slots: the
        /// area under a queue that falls at what the slots serve beyond the arrivals, or stays.
        func waitingSeconds(servers: Int) -> Double {
            let drainRate = Double(servers) / serviceSeconds - rate
            guard drainRate > 0 else { return requests * seconds }
            let drainSeconds = requests / drainRate
            if drainSeconds <= seconds { return requests * drainSeconds / 2 }
            return seconds * (2 * requests - drainRate * seconds) / 2
        }

        /// The fewest slots (up to `maxServers`) that drain the queue within `limit` seconds; all of
        /// them when fewer cannot; nil when not even they drain it.
        func serversToDrain(within limit: Double, maxServers: Int) -> Int? {
            guard maxServers > 0, Double(maxServers) / serviceSeconds > rate else { return nil }
            for servers in 1...maxServers {
                let drainRate = Double(servers) / serviceSeconds - rate
                if drainRate > 0 && requests / drainRate <= limit { return servers }
            }
            return maxServers
        }
    }
}
