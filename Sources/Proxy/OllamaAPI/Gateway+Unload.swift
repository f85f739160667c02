import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// Whether a native request is Ollama's unload: a generate with no prompt, or a chat with no
    /// messages, and a `keep_alive` of zero (`ollama stop`, and `ollama rm` before it deletes).
    static func asksUnload(_ fields: JSONObject, endpoint: NativeEndpoint) -> Bool {
        guard let keepAlive = fields["keep_alive"], FarmCall.unloadsAtOnce(keepAlive) else { return false }
        switch endpoint {
        case .generate: return fields["prompt"].map { $0.isNull || $0.stringValue == "" } ?? true
        case .chat: return fields["messages"]?.arrayValue?.isEmpty ?? (fields["messages"]?.isNull ?? true)
        case .embed, .embeddings: return false
        }
    }

    /// Ollama's unload for the whole farm: sent to every healthy node that has the model, where it
    /// stops the runner once its requests end and loads nothing. Placed as a request, it reached
    /// one copy and left the others loaded, and where no copy was warm it was placed as a cold load,
    /// making room for a model it was about to stop. The client gets a node's own answer
    /// (`done_reason: "unload"`); the nodes are probed again first, so placement stops counting on
    /// the copies.
    func unloadEverywhere(
        _ model: ModelName, requested: String, body: [UInt8], endpoint: NativeEndpoint, writer: HTTPResponseWriter,
        record: inout AccessRecord
    ) async {
        // A model that shares another's runner (`SharedRunners`) stops that runner too, as in Ollama.
        let holders = await cluster.snapshots().filter { $0.health == .healthy && $0.hasPulled(model) }
        guard !holders.isEmpty else { return await fail(endpoint.notFound(requested), writer, &record, openAI: false) }
        record.node = holders.map(\.name).joined(separator: ",")
        let answers = await askEachNode(holders, path: endpoint.rawValue, body: body)
        await monitor.probeAll()
        let failures = answers.compactMap { entry -> String? in
            switch entry.answer {
            case .answered(200, _): return nil
            case .answered(let status, _): return "node \(entry.node): status \(status)"
            case .unreachable(let reason): return "node \(entry.node): \(reason)"
            }
        }
        if !failures.isEmpty { logger.warning("unloading \(model) failed on \(failures.joined(separator: "; "))") }
        let done = answers.lazy.compactMap { entry -> [UInt8]? in
            if case .answered(200, let body) = entry.answer { return body }
            return nil
        }.first
        guard let done else {
            return await fail(
                APIError(status: 502, "unloading \(requested) failed: \(failures.joined(separator: "; "))"), writer, &record, openAI: false)
        }
        logger.info("unloaded \(model) on request, from \(holders.map(\.name).joined(separator: ", "))")
        record.status = 200
        try? await writer.respond(status: 200, headers: ["Content-Type": "application/json; charset=utf-8"], body: done)
    }
}
