/// The context length (`options.num_ctx`) each loaded runner on a node serves.
///
/// Ollama makes a request's runner options part of a loaded model's identity: a request whose
/// `num_ctx` differs from the runner's waits for the runner's requests to end, unloads it and loads
/// the model again (`needsReload`), and every other request needing the scheduler on that node waits
/// behind the reload. Clients that set `num_ctx` (Open WebUI, Continue, scripts with `options`)
/// beside clients that do not would make a balancer that places by model name alone reload the
/// model back and forth on one node, seconds each time. Placement reads `serves` to send each
/// request to a runner loaded for its context length, and to load another copy elsewhere rather
/// than reload one in use.
///
/// What is known of a runner: the context length TensorWall last sent it a request for (after that
/// request it serves that length, reloaded or not), and `context_length` from `/api/ps`. A request
/// without `num_ctx` asks for the node's automatic length for the model (`OLLAMA_CONTEXT_LENGTH`, the
/// VRAM tier, or the Modelfile's), learned from a runner loaded for such a request. Where nothing is
/// known (a runner loaded before TensorWall started, say), the runner is taken to serve the request.
///
/// A request without `num_ctx` also rides a runner loaded for a longer explicit length: TensorWall
/// sends it with that `num_ctx` (`ridingLength`), so Ollama keeps the runner. The client asked for no
/// length, and gets a window at least as long as the automatic one. Without this, a farm whose
/// clients mostly set no length and partly ask a longer one needs a runner per length for every
/// model, twice the places the loaded-model cap gives; with it, runners for the longer length serve
/// both.
public struct RunnerContexts: Sendable, Equatable {
    /// What a runner was loaded for, as far as TensorWall knows.
    enum Asked: Sendable, Equatable {
        /// A request without `num_ctx`: the node's automatic length.
        case automatic
        case length(Int)

        init(_ contextLength: Int?) { self = contextLength.map(Asked.length) ?? .automatic }
    }

    struct Runner: Sendable, Equatable {
        var asked: Asked?
        /// When `asked` was set (cluster seconds): a probe sent before it shows the runner as it was.
        var askedAt = -Double.infinity
        /// `context_length` from the last probe sent after `askedAt`.
        var reported: Int?
    }

    private var runners: [ModelName: Runner] = [:]
    /// The context length a runner loaded for a request without `num_ctx` reported, per model.
    private var automaticLength: [ModelName: Int] = [:]

    public init() {}

    /// Whether the loaded (or loading) runner of `model` serves a request asking `contextLength`
    /// (nil: the request sets no `num_ctx`) without Ollama reloading it: as it is, or, for a request
    /// that sets none, sent with the runner's longer length (`ridingLength`). `farmAutomatic` is the
    /// automatic length other nodes like this one learned, for a node that has not learned its own.
    /// With `atLeast` (`ClusterConfig.NumCtxPolicy`), a runner known to serve a longer length than
    /// an explicit ask serves it too, sent with the runner's length.
    public func serves(_ model: ModelName, contextLength: Int?, farmAutomatic: Int? = nil, atLeast: Bool = false) -> Bool {
        guard let runner = runners[model] else { return true }
        let automatic = automaticLength[model] ?? farmAutomatic
        if atLeast, let contextLength, let known = knownLength(of: model, automatic: automatic), known > contextLength { return true }
        switch runner.asked {
        case .automatic?:
            guard let contextLength else { return true }
            return (runner.reported ?? automatic).map { $0 == contextLength } ?? false
        case .length(let length)?:
            guard let contextLength else { return automatic.map { length >= $0 } ?? false }
            return contextLength == length
        case nil:
            guard let reported = runner.reported else { return true }
            guard let contextLength else { return automatic.map { reported >= $0 } ?? true }
            return contextLength == reported
        }
    }

    /// The `num_ctx` to send a request that sets none to the runner of `model`, when the runner was
    /// loaded for an explicit length longer than the automatic one (sent without it, Ollama would
    /// reload the runner for the shorter automatic length); nil when the request goes as it is.
    public func ridingLength(_ model: ModelName, farmAutomatic: Int? = nil) -> Int? {
        guard let explicit = explicitLength(of: model), let automatic = automaticLength[model] ?? farmAutomatic,
            explicit > automatic
        else { return nil }
        return explicit
    }

    /// The `num_ctx` to send a request asking `contextLength` to the runner of `model` instead: for a
    /// request that sets none, `ridingLength`; for an explicit ask under `atLeast`, the runner's
    /// length when it is known and longer. Nil: the request goes as it is.
    public func lengthToSend(_ model: ModelName, asking contextLength: Int?, farmAutomatic: Int? = nil, atLeast: Bool = false) -> Int? {
        guard let contextLength else { return ridingLength(model, farmAutomatic: farmAutomatic) }
        guard atLeast, let known = knownLength(of: model, automatic: automaticLength[model] ?? farmAutomatic), known > contextLength
        else { return nil }
        return known
    }

    /// The length the runner of `model` serves as far as is known: the explicit one, or for a runner
    /// loaded without one, what its probe showed or the automatic length.
    private func knownLength(of model: ModelName, automatic: Int?) -> Int? {
        guard let runner = runners[model] else { return nil }
        if case .automatic? = runner.asked { return runner.reported ?? automatic }
        return explicitLength(of: model)
    }

    /// The length the runner of `model` was loaded for when that was not known to be the automatic
    /// one: the `num_ctx` TensorWall last sent it, or what a probe showed of a runner it sent nothing.
    func explicitLength(of model: ModelName) -> Int? {
        switch runners[model]?.asked {
        case .automatic?: nil
        case .length(let length)?: length
        case nil: runners[model]?.reported
        }
    }

    /// The context length a runner loaded here for a request without `num_ctx` showed, for `model`.
    public func automaticLength(of model: ModelName) -> Int? { automaticLength[model] }

    /// Every model's automatic length learned here.
    var automaticLengths: [ModelName: Int] { automaticLength }

    /// The context length the runner of `model` is known to have, for the operator.
    public func contextLength(of model: ModelName) -> Int? {
        guard let runner = runners[model] else { return nil }
        if let reported = runner.reported { return reported }
        switch runner.asked {
        case .length(let length)?: return length
        case .automatic?: return automaticLength[model]
        case nil: return nil
        }
    }

    /// Whether a request asking `contextLength` sent to the runner of `model` would change what is
    /// known of it (`asked`); most requests ask what the runner was last asked.
    func isNews(_ model: ModelName, contextLength: Int?) -> Bool {
        runners[model]?.asked != Asked(contextLength)
    }

    /// A request asking `contextLength` was sent to the runner of `model` at `now`: from then on the
    /// runner serves that length, as it did already or once Ollama has reloaded it. A runner that
    /// served the request already keeps the length the probes showed: it is the same runner.
    /// - Returns: whether Ollama reloads a runner it has for the request (a known runner that does
    ///   not serve the length).
    @discardableResult
    mutating func asked(_ model: ModelName, contextLength: Int?, now: Double) -> Bool {
        let asked = Asked(contextLength)
        guard runners[model]?.asked != asked else { return false }
        let known = runners[model] != nil
        let servedAlready = serves(model, contextLength: contextLength)
        runners[model] = Runner(asked: asked, askedAt: now, reported: servedAlready ? runners[model]?.reported : nil)
        return known && !servedAlready
    }

    /// A probe sent at `sentAt` showed `model` loaded with `context_length` `reported`.
    mutating func reported(_ model: ModelName, contextLength reported: Int?, sentAt: Double) {
        var runner = runners[model] ?? Runner()
        guard sentAt >= runner.askedAt, let reported else {
            runners[model] = runner
            return
        }
        runner.reported = reported
        if runner.asked == .automatic { automaticLength[model] = reported }
        runners[model] = runner
    }

    /// Forgets the runners of models no longer on the node (their next load says what it is for).
    mutating func keepOnly(_ models: Set<ModelName>) {
        runners = runners.filter { models.contains($0.key) }
    }

    /// Forgets the runner of `model` (unloaded).
    mutating func forget(_ model: ModelName) {
        runners[model] = nil
    }
}
