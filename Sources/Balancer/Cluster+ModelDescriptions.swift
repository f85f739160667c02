/// What `/api/show` says of models' context lengths (`ModelContextFacts`), asked once per model.
extension Cluster {
    /// A pulled model no fact is kept for yet, and a node in service to ask.
    public struct ModelToDescribe: Sendable, Equatable {
        public let model: ModelName
        /// The name as the node lists it.
        public let displayName: String
        /// What the answer is kept under (`ModelContextFacts.key`).
        public let key: String
        public let node: ClusterConfig.NodeConfig
    }

    /// The pulled models to ask `/api/show` about, each once (by digest) on the first node in
    /// service that lists it. Asked from the start: at a cold start the first requests that set a
    /// length are still queued for their loads when the answers are wanted.
    public func modelsToDescribe() async -> [ModelToDescribe] {
        let described = describedModels.withLock { $0 }
        var wanted: [String: ModelToDescribe] = [:]
        for snapshot in await snapshots() where snapshot.health.isInService {
            for (model, pulled) in snapshot.pulled {
                let key = ModelContextFacts.key(model, digest: pulled.digest)
                guard described[key] == nil, wanted[key] == nil else { continue }
                wanted[key] = ModelToDescribe(model: model, displayName: pulled.displayName, key: key, node: snapshot.config)
            }
        }
        return wanted.values.sorted { $0.key < $1.key }
    }

    /// Keeps what `/api/show` said of the model kept under `key`.
    public func recordDescription(_ facts: ModelContextFacts, key: String) {
        describedModels.withLock { $0[key] = facts }
    }
}
