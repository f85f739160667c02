/// Runners loaded for the automatic context length, reloaded for the longer one most of their
/// model's requests are served by (`RunnerContexts`).
extension Cluster {
    /// An idle runner to reload in place for `contextLength`.
    public struct RunnerToLengthen: Sendable {
        public let snapshot: NodeSnapshot
        public let model: ModelName
        public let contextLength: Int
    }

    /// Idle runners loaded for the automatic length of a model whose own recent requests are best
    /// served by a longer one (`ContextLengthTally.usualOfItsOwn`), at most one per model and one
    /// per node a round, on nodes loading nothing. Reloaded for that length, such a runner serves
    /// both kinds of request (those that set none ride it); left as it is, the requests asking the
    /// longer length can never use it. At a cold start a model's first copies are loaded before its
    /// clients' lengths are known: at 75 % load with 30 % of conversations asking 8192, those copies
    /// stayed for the automatic length the whole run, the 8192 requests had fewer slots than the
    /// model's copies gave, and p95 after warm-up was 0.57-0.69 s where farms whose clients all ask
    /// one length read 0.29-0.39 s.
    /// Copies the planner's target releases are left to it.
    public func runnersToLengthen() async -> [RunnerToLengthen] {
        let snapshots = await snapshots()
        let atLeast = current.numCtx == .atLeast
        let released = releasedCopies.withLock { $0 }
        var picked: Set<ModelName> = []
        var runners: [RunnerToLengthen] = []
        for snapshot in snapshots where snapshot.health == .healthy && snapshot.loading.isEmpty && !snapshot.loadsLookStuck {
            for model in snapshot.loaded.keys.sorted() where !picked.contains(model) && snapshot.inFlight(model) == 0 {
                guard snapshot.draining[model] == nil, released[snapshot.id]?.contains(model) != true,
                    let automatic = automaticLength(model, on: snapshot, in: snapshots),
                    let usual = contextLengthTally.withLock({ $0.usualOfItsOwn(model, automatic: automatic, atLeast: atLeast) }),
                    usual > automatic,
                    // Only a runner known to be at the automatic length: one loaded for another
                    // explicit length serves clients of its own, who would lose it.
                    snapshot.runnerContexts.contextLength(of: model) == automatic
                else { continue }
                picked.insert(model)
                runners.append(RunnerToLengthen(snapshot: snapshot, model: model, contextLength: usual))
                break  // Ollama loads one model at a time: one reload a node a round
            }
        }
        return runners
    }
}
