/// Where a requested model can be served: the Ollama farm, cloud endpoints, or both, in the order
/// the strategy says to try them. `routes` aliases list their targets; a bare name is the farm
/// first, then any cloud endpoint that lists the model.
public struct RoutePlan: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        /// The farm, with the model name to send to Ollama.
        case farm(model: String)
        /// A cloud endpoint (index into `ClusterConfig.cloud`), with the model name it knows.
        case cloud(endpoint: Int, model: String)
    }

    public struct Target: Sendable, Equatable {
        public var destination: Destination
        public var weight: Int
        public var priority: Int

        /// A cloud endpoint, not the farm.
        public var isCloud: Bool { if case .cloud = destination { true } else { false } }
    }

    public var targets: [Target]
    public var strategy: ClusterConfig.Strategy
    /// The route alias, when the model named one.
    public var route: String?

    /// Resolves what the client asked for; `model` is as sent (with any `ollama/` or cloud prefix).
    public static func resolve(_ model: String, config: ClusterConfig) -> RoutePlan {
        if let route = config.routes[model] {
            let targets = route.map { target in
                Target(destination: destination(for: target.target, config: config), weight: target.weight, priority: target.priority)
            }
            return RoutePlan(targets: targets, strategy: config.routeStrategies[model] ?? config.strategy, route: model)
        }
        let (bare, pinnedToFarm) = ModelName.strippingFarmPrefix(model)
        // A byte scan: `contains("/")` resolves to Foundation's `range(of:)` through `NSString`, 1.7 %
        // of the proxy's CPU on `/v1` when it ran once per request.
        if pinnedToFarm || !model.utf8.contains(UInt8(ascii: "/")) {
            var targets = [Target(destination: .farm(model: bare), weight: 100, priority: 0)]
            if !pinnedToFarm {
                for (index, endpoint) in config.cloud.enumerated() where endpoint.models.contains(bare) {
                    targets.append(
                        Target(destination: .cloud(endpoint: index, model: bare), weight: endpoint.weight, priority: endpoint.priority))
                }
            }
            return RoutePlan(targets: targets, strategy: config.strategy, route: nil)
        }
        return RoutePlan(
            targets: [Target(destination: destination(for: model, config: config), weight: 100, priority: 0)], strategy: config.strategy,
            route: nil)
    }

    /// Some target is a cloud endpoint.
    public var reachesCloud: Bool {
        targets.contains(where: \.isCloud)
    }

    /// The farm models among the targets, by priority (then as listed): what a route offers where
    /// only the farm can answer, as on Ollama's own API.
    public var farmModelsByPriority: [String] {
        targets.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }
            .compactMap { if case .farm(let model) = $0.element.destination { model } else { nil } }
    }

    /// `ollama/X` and names without a known provider go to the farm; `NAME/X` to the cloud endpoint called NAME.
    static func destination(for target: String, config: ClusterConfig) -> Destination {
        if let slash = target.firstIndex(of: "/") {
            let provider = String(target[..<slash])
            let model = String(target[target.index(after: slash)...])
            if provider == "ollama" { return .farm(model: model) }
            if let index = config.cloud.firstIndex(where: { $0.name == provider }) { return .cloud(endpoint: index, model: model) }
        }
        return .farm(model: target)
    }

    /// The order to try targets in. `affinity` and `least_busy`: priority tiers, weighted shuffle
    /// within a tier. `weighted`: the first pick in proportion to weight among all targets, then
    /// the rest by priority. `round_robin`: rotate over the targets in priority order.
    public func attemptOrder(rotation: Int, using random: inout some RandomNumberGenerator) -> [Target] {
        let byPriority = targets.enumerated().sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        switch strategy {
        case .affinity, .leastBusy:
            var ordered: [Target] = []
            for priority in Set(targets.map(\.priority)).sorted() {
                var tier = targets.filter { $0.priority == priority }
                while !tier.isEmpty {
                    let pick = AffinityPlacement.pickWeighted(tier.map(\.weight), using: &random)
                    ordered.append(tier.remove(at: pick))
                }
            }
            return ordered
        case .weighted:
            let first = AffinityPlacement.pickWeighted(targets.map(\.weight), using: &random)
            return [targets[first]] + byPriority.filter { $0 != targets[first] }
        case .roundRobin:
            let start = rotation % byPriority.count
            return Array(byPriority[start...] + byPriority[..<start])
        }
    }
}
