/// What the runners loaded without `num_ctx` on some nodes show of those nodes' default context
/// length, for a model none of whose own runners was loaded that way (`ModelContextFacts`).
///
/// Ollama's automatic length is the Modelfile's `num_ctx`, else the node's default
/// (`OLLAMA_CONTEXT_LENGTH`, else a tier of its VRAM), capped at the length the model was trained
/// for. The node's default is read from any model whose Modelfile sets none and whose runner came in
/// under its trained length. The estimate lets a request that sets no length ride a runner loaded for
/// a longer one, so it must never fall short of what Ollama would load: where the default is in doubt
/// (runners disagree) there is none.
enum AutomaticLengthEstimate: Equatable {
    /// No described runner below its trained length.
    case unknown
    case agreed(Int)
    /// Runners showed different defaults.
    case inDoubt

    /// What `observed` (each runner's facts key and the length it showed) shows of the default.
    init(observed: some Sequence<(key: String, length: Int)>, factsByKey: [String: ModelContextFacts]) {
        self = .unknown
        for runner in observed {
            guard let shown = factsByKey[runner.key]?.nodeDefault(observed: runner.length) else { continue }
            if case .agreed(let agreed) = self, agreed != shown {
                self = .inDoubt
                return
            }
            self = .agreed(shown)
        }
    }

    var nodeDefault: Int? {
        if case .agreed(let length) = self { return length }
        return nil
    }
}
