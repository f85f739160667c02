/// Requests sent to runners loaded for their context length (`RunnerContexts`).
extension Cluster {
    /// The nodes (indices into `snapshots`) whose copy of `model` Ollama would reload for a request
    /// asking `contextLength`: placement leaves them out while another node can serve the request,
    /// so clients asking different lengths each keep a runner of their own instead of reloading one
    /// back and forth.
    func nodesWithOtherContext(_ model: ModelName, contextLength: Int?, atLeast: Bool, in snapshots: [NodeSnapshot]) -> Set<Int> {
        var nodes: Set<Int> = []
        for snapshot in snapshots where snapshot.hasCopy(model) {
            let automatic = contextLength == nil || atLeast ? automaticLength(model, on: snapshot, in: snapshots) : nil
            if snapshot.hasCopyForOtherContext(model, contextLength: contextLength, farmAutomatic: automatic, atLeast: atLeast) {
                nodes.insert(snapshot.index)
            }
        }
        return nodes
    }

    /// The automatic context length of `model` on the node of `snapshot`: the one it learned from a
    /// runner of its own, else what the other nodes of the same VRAM learned, if they agree, else
    /// what the node's default and the model's `/api/show` give (`AutomaticLengthEstimate`).
    /// Ollama's automatic length is the node's `OLLAMA_CONTEXT_LENGTH`, else a VRAM tier, or the
    /// Modelfile's, so alike nodes share it; a node loaded only for explicit lengths never learns its
    /// own, and requests that set none could not otherwise ride its runners.
    /// `snapshots` is read only for a node that has not learned its own.
    func automaticLength(_ model: ModelName, on snapshot: NodeSnapshot, in snapshots: @autoclosure () -> [NodeSnapshot]) -> Int? {
        if let own = snapshot.runnerContexts.automaticLength(of: model) { return own }
        let all = snapshots()
        let alike = all.lazy.filter { $0.id != snapshot.id && $0.config.vramGB == snapshot.config.vramGB }
        if let agreed = Self.agreedAutomaticLength(model, among: alike) { return agreed }
        return estimatedAutomaticLength(model, on: snapshot, alike: alike)
    }

    /// The automatic length of `model` on the node of `snapshot` worked out from what `/api/show`
    /// said of it and the node's default, which its own runners loaded without `num_ctx` show, else
    /// those of the nodes like it.
    private func estimatedAutomaticLength(_ model: ModelName, on snapshot: NodeSnapshot, alike: some Sequence<NodeSnapshot>) -> Int? {
        let described = describedModels.withLock { $0 }
        guard let facts = described[ModelContextFacts.key(model, digest: snapshot.pulled[model]?.digest ?? "")] else { return nil }
        if facts.modelfileLength != nil { return facts.automaticLength(nodeDefault: nil) }
        var estimate = AutomaticLengthEstimate(observed: Self.automaticRunners(on: snapshot), factsByKey: described)
        if estimate == .unknown {
            estimate = AutomaticLengthEstimate(observed: alike.lazy.flatMap(Self.automaticRunners), factsByKey: described)
        }
        return estimate.nodeDefault.flatMap { facts.automaticLength(nodeDefault: $0) }
    }

    /// The runners on the node of `snapshot` that were loaded without `num_ctx`, by the key their
    /// facts are kept under, with the length each showed.
    private static func automaticRunners(on snapshot: NodeSnapshot) -> [(key: String, length: Int)] {
        snapshot.runnerContexts.automaticLengths.map { model, length in
            (ModelContextFacts.key(model, digest: snapshot.pulled[model]?.digest ?? ""), length)
        }
    }

    /// The automatic length of `model` that the nodes among `snapshots` which learned one agree on
    /// (nil: none learned it, or they differ).
    static func agreedAutomaticLength(_ model: ModelName, among snapshots: some Sequence<NodeSnapshot>) -> Int? {
        var agreed: Int?
        for snapshot in snapshots {
            guard let learned = snapshot.runnerContexts.automaticLength(of: model) else { continue }
            if let agreed, agreed != learned { return nil }
            agreed = learned
        }
        return agreed
    }

    /// The lane of the model's queue (`WaitQueues`) a request asking `contextLength` waits in: that
    /// of the requests that set none when the runners loaded for the automatic length serve it (it
    /// asks that length, or under `atLeast` a shorter one), else its length's own. In lanes of their
    /// own, LlamaIndex's 3900 under `atLeast` and the requests that set none waited for the same
    /// runners, and each new arrival in one overtook the queue of the other: p95 after warm-up at
    /// 75 % load read 0.71-0.75 s where one queue read 0.45 s.
    func queueLane(_ contextLength: Int?, of model: ModelName, atLeast: Bool, in snapshots: [NodeSnapshot]) -> Int? {
        guard let contextLength,
            let automatic = snapshots.lazy.compactMap({ self.automaticLength(model, on: $0, in: snapshots) }).first
        else { return contextLength }
        return contextLength == automatic || (atLeast && contextLength < automatic) ? nil : contextLength
    }

    /// Notes what the lease's runner is asked: tells its node when that is news (one hop for the
    /// first request of a new length, none for the rest). A request that sets no length and goes
    /// to a runner loaded for a longer one, or to a load for the length most requests are served by,
    /// is sent with that length (`Lease.sentContextLength`, `RunnerContexts.ridingLength`).
    func noteContextAsked(_ request: Request, lease: inout Lease) async {
        var known = lease.node.publishedSnapshot(index: 0)
        let atLeast = current.numCtx == .atLeast
        if request.contextLength == nil || atLeast {
            if known == nil { known = await lease.node.snapshot(index: 0) }
            if let snapshot = known {
                lease.sentContextLength = lengthToSend(request, lease: lease, on: snapshot, atLeast: atLeast)
            }
        }
        let asked = lease.sentContextLength ?? request.contextLength
        if let known, !known.runnerContexts.isNews(request.model, contextLength: asked) { return }
        await lease.node.runnerAsked(request.model, contextLength: asked, now: clock())
    }

    /// The length to send the request with on `lease` in place of what it asked (nil: as it is). A
    /// warm or loading runner loaded for a longer length than the request's takes it with that length
    /// (a request that sets none asks the automatic length; an explicit ask rides only under
    /// `atLeast`). A cold load is for the length that serves most of the model's recent requests,
    /// when that is longer than the request's: a runner for it serves these requests and the longer
    /// ones alike.
    private func lengthToSend(_ request: Request, lease: Lease, on snapshot: NodeSnapshot, atLeast: Bool) -> Int? {
        let model = request.model
        let contexts = snapshot.runnerContexts
        // Most farms' requests set no length, or their runners were loaded for the automatic one:
        // nothing to send then, found without working out the automatic length.
        let anyLonger: Bool
        if lease.claim.isColdLoad {
            anyLonger = contextLengthTally.withLock { $0.longestAsked(model) } != nil
        } else if request.contextLength == nil {
            anyLonger = contexts.explicitLength(of: model) != nil
        } else {
            anyLonger = true  // an explicit ask under atLeast: what the runner serves decides
        }
        guard anyLonger else { return nil }
        let automatic = automaticLength(model, on: snapshot, in: publishedSnapshots())
        guard lease.claim.isColdLoad else {
            return contexts.lengthToSend(model, asking: request.contextLength, farmAutomatic: automatic, atLeast: atLeast)
        }
        // The usual length nil is the automatic one, sent explicitly to a shorter ask under atLeast.
        guard let asked = request.contextLength ?? automatic,
            let target = contextLengthTally.withLock({ $0.usual(model, automatic: automatic, atLeast: atLeast) }) ?? automatic,
            target > asked
        else { return nil }
        return target
    }

    /// Every node's published snapshot that is current, without a hop: what the automatic lengths
    /// other nodes learned are read from.
    private func publishedSnapshots() -> [NodeSnapshot] {
        nodes.enumerated().compactMap { $1.publishedSnapshot(index: $0) }
    }

    /// The context length that serves most of the model's recent requests on the node of `snapshot`
    /// (nil: none set), for a load ahead of them (`ContextLengthTally`): a length longer than the
    /// node's automatic one serves the requests that set none as well.
    public func usualContextLength(_ model: ModelName, on snapshot: NodeSnapshot) -> Int? {
        let automatic = automaticLength(model, on: snapshot, in: publishedSnapshots())
        let atLeast = current.numCtx == .atLeast
        return contextLengthTally.withLock { $0.usual(model, automatic: automatic, atLeast: atLeast) }
    }

    /// The context length that serves most of each model's recent requests, for models where that is
    /// a length they set: what a restart's loads ahead of requests should ask (the state file keeps
    /// it). A model's automatic length is the one the nodes that learned it agree on.
    public func usualContextLengths() -> [ModelName: Int] {
        let snapshots = publishedSnapshots()
        var automatic: [ModelName: Int] = [:]
        for model in Set(snapshots.flatMap { $0.runnerContexts.automaticLengths.keys }) {
            automatic[model] = Self.agreedAutomaticLength(model, among: snapshots)
        }
        let atLeast = current.numCtx == .atLeast
        return contextLengthTally.withLock { $0.usualLengths(automatic: automatic, atLeast: atLeast) }
    }

    /// Starts from the lengths an earlier run's requests asked (`usualContextLengths`), until this
    /// run's requests say otherwise.
    public func seedContextLengths(_ lengths: [ModelName: Int]) {
        contextLengthTally.withLock { tally in
            for (model, length) in lengths { tally.seed(model, contextLength: length) }
        }
    }
}
