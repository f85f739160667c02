/// Models that Ollama serves from one runner, so placement must see them as one model.
///
/// Ollama keeps one runner per weights file (its scheduler keys runners by `ModelPath`), and a
/// model made from another (`ollama create coding-assistant` with `FROM llama3.2`, or `ollama cp`)
/// names the same weights: a request for either rides the other's warm runner, and `/api/ps` lists
/// the runner once, under the name that loaded it. Placed as two models, a request for the second
/// looked cold on the node where the first was warm, the planner counted two runners' VRAM and
/// places for one, and the first's name vanishing from `/api/ps` read as Ollama making room.
///
/// So each such model is placed, counted and probed under one name of its group (the one pulled or
/// made first, most likely the base the others were made from; the least name among equals, so every
/// round picks the same), while its requests still name it to Ollama. Only where it is safe
/// on the whole farm: every node in service that holds one of them holds the other, and the same
/// files (`ModelContextFacts.runnerIdentity`). Where a node holds only one of the two, a request
/// for the other placed there would not find its model.
public enum SharedRunners {
    /// One node in service: its pulled models with the digest their facts are kept under.
    public struct NodeModels: Sendable {
        public var pulled: [ModelName: String]
        /// Each model's size in `/api/tags`: a model made from another is the same weights and a few
        /// small layers (template, system prompt, parameters).
        public var sizes: [ModelName: Int64]
        /// When each was pulled or made (`modified_at`), where the node says.
        public var modifiedAt: [ModelName: Double]

        public init(pulled: [ModelName: String], sizes: [ModelName: Int64] = [:], modifiedAt: [ModelName: Double] = [:]) {
            self.pulled = pulled
            self.sizes = sizes
            self.modifiedAt = modifiedAt
        }

        /// Whether the two models' sizes differ by no more than a model made from the other can:
        /// a check beside the files, against a node that describes every model alike.
        func sizesMatch(_ a: ModelName, _ b: ModelName) -> Bool {
            let (first, second) = (sizes[a] ?? 0, sizes[b] ?? 0)
            return abs(first - second) <= max(first, second) / 100
        }
    }

    /// The name each model sharing another's runner is placed under (models placed under their own
    /// name are left out).
    /// - Parameter facts: what `/api/show` said, by `ModelContextFacts.key`.
    public static func aliases(nodes: [NodeModels], facts: [String: ModelContextFacts]) -> [ModelName: ModelName] {
        func identity(_ model: ModelName, on node: NodeModels) -> String? {
            guard let digest = node.pulled[model] else { return nil }
            return facts[ModelContextFacts.key(model, digest: digest)]?.runnerIdentity
        }
        var groups: [String: Set<ModelName>] = [:]
        for node in nodes {
            for model in node.pulled.keys {
                if let key = identity(model, on: node) { groups[key, default: []].insert(model) }
            }
        }
        func madeAt(_ model: ModelName) -> Double { nodes.compactMap { $0.modifiedAt[model] }.min() ?? .infinity }
        var aliases: [ModelName: ModelName] = [:]
        for members in groups.values where members.count > 1 {
            let sorted = members.map { ($0, madeAt($0)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
            for (position, model) in sorted.enumerated().dropFirst() {
                // The first member that shares this model's runner on every node holding either.
                let shared = sorted.prefix(position).first { lead in
                    nodes.allSatisfy { node in
                        let (holdsModel, holdsLead) = (node.pulled[model] != nil, node.pulled[lead] != nil)
                        guard holdsModel == holdsLead else { return false }
                        guard holdsModel else { return true }
                        return identity(model, on: node).map { $0 == identity(lead, on: node) } == true
                            && node.sizesMatch(model, lead)
                    }
                }
                if let shared { aliases[model] = aliases[shared] ?? shared }
            }
        }
        return aliases
    }
}
