import APITranslation
import WireFormats

extension FarmCall {
    /// The call's cold load on its own, in the form Ollama documents for the call's endpoint (a chat
    /// with no messages, a generate with an empty prompt), so TensorWall can carry the load on a
    /// request of its own (`Gateway.startCarriedLoad`). It is the call's own body with its input
    /// emptied, its images left out and no stream: the same model name and `options` (a runner loaded
    /// with another `num_ctx` or `num_gpu` is reloaded for the call), and the same fields Ollama
    /// checks before it loads anything, so a call Ollama would refuse (a field of the wrong type, a
    /// capability the model lacks) loads nothing either. Its `keep_alive` stays unless that unloads
    /// the model at once (the call sets it when it attaches). Nil for an endpoint with no load-only
    /// form (embeddings), for a call that is itself a load or an unload, and for an input Ollama
    /// would not read.
    func loadOnly() -> FarmCall? {
        guard case .object(var fields)? = try? JSONParser.parse(body) else { return nil }
        switch path {
        case "/api/chat":
            guard fields["messages"]?.arrayValue?.isEmpty == false else { return nil }
            fields["messages"] = .array([])
        case "/api/generate":
            guard fields["prompt"]?.stringValue?.isEmpty == false else { return nil }
            fields["prompt"] = ""
            fields["images"] = nil
        default:
            return nil
        }
        fields["stream"] = false
        if let keepAlive = fields["keep_alive"], Self.unloadsAtOnce(keepAlive) { fields["keep_alive"] = nil }
        return FarmCall(
            model: model, requestedName: requestedName, path: path, body: JSONValue.object(fields).serialized(), stream: false,
            makeTranslator: { PassThroughTranslator() })
    }

    /// Whether a `keep_alive` asks Ollama to unload the model as soon as the request ends (zero).
    static func unloadsAtOnce(_ keepAlive: JSONValue) -> Bool {
        if let seconds = keepAlive.doubleValue { return seconds == 0 }
        return keepAlive.stringValue.flatMap(GoDuration.seconds) == 0
    }
}
