/// What a model's `/api/show` says about the context length Ollama loads it for when a request sets
/// no `num_ctx`: the Modelfile's own `num_ctx`, and the length it was trained for, which Ollama caps
/// `num_ctx` at when it loads it (`requested context size too large for model`).
///
/// A model's automatic length is learned from its own runner, loaded for a request without
/// `num_ctx` (`RunnerContexts`). With clients that set a length beside clients that do not, a
/// model's first loads can all be for the explicit length, and then nothing is learned: the requests
/// that set none could not ride those runners, and the farm loaded a second runner per model at a
/// cold start. These facts let the length be worked out from the node's default instead, which any
/// other model loaded without `num_ctx` shows (`AutomaticLengthEstimate`).
public struct ModelContextFacts: Sendable, Equatable {
    /// `num_ctx` among the Modelfile's parameters (nil: it sets none, so the node's default applies).
    public var modelfileLength: Int?
    /// `<architecture>.context_length` in `model_info` (nil: not shown).
    public var trainedLength: Int?
    /// The Modelfile's `FROM` and `ADAPTER` lines (the blobs of its weights, projector and adapters;
    /// nil: not shown). Ollama keeps one runner per weights file, and a model made from another
    /// names the same blobs: the two share a runner (`SharedRunners`).
    public var runnerFiles: String?

    public init(modelfileLength: Int?, trainedLength: Int?, runnerFiles: String? = nil) {
        self.modelfileLength = modelfileLength
        self.trainedLength = trainedLength
        self.runnerFiles = runnerFiles
    }

    /// What makes two models one runner to Ollama: the same files, loaded for the same length when a
    /// request sets none (another length is a reload, `needsReload`). Nil when the files are not known.
    var runnerIdentity: String? { runnerFiles.map { "\($0)\nnum_ctx \(modelfileLength.map(String.init) ?? "default")" } }

    /// The length Ollama loads the model for when a request sets none, given the node's default
    /// (`OLLAMA_CONTEXT_LENGTH`, else its VRAM tier): the Modelfile's, else the node's, capped at
    /// the trained length. Nil when the Modelfile sets none and the node's default is not known.
    public func automaticLength(nodeDefault: Int?) -> Int? {
        guard let length = modelfileLength ?? nodeDefault else { return nil }
        return trainedLength.map { min(length, $0) } ?? length
    }

    /// The node's default length, if `observed` (this model's runner loaded without `num_ctx`)
    /// shows it: only for a model whose Modelfile sets none and which was not capped at its trained
    /// length. A runner at its trained length may have been capped, and says only that the default
    /// is at least that.
    public func nodeDefault(observed: Int) -> Int? {
        guard modelfileLength == nil, let trainedLength, observed < trainedLength else { return nil }
        return observed
    }

    /// The key facts are kept under: the model's digest, which names its Modelfile and weights on
    /// every node alike, or its name where a node lists no digest.
    public static func key(_ model: ModelName, digest: String) -> String {
        digest.isEmpty ? "name:" + model.canonical : digest
    }
}
