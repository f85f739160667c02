import APITranslation
import WireFormats

/// One request for a cloud endpoint: the OpenAI path under the endpoint's URL and the body as the
/// client wrote it, with the endpoint's name for the model. Every `/v1` API a cloud speaks
/// (chat, text completions, embeddings, Responses) goes through the same send and relay.
struct CloudCall: Sendable {
    /// The path under the endpoint's URL, e.g. `/chat/completions`.
    var path: String
    /// The client's fields, `model` and Ollama's extensions left to `serveFromCloud`.
    var fields: JSONObject
    var stream: Bool
    /// An in-band error in the API's own stream format, for a stream the cloud cut.
    var streamError: @Sendable (String) -> [UInt8]

    /// A call for `/v1/chat/completions`: the chat stream's own error chunk.
    static func chat(_ fields: JSONObject, stream: Bool) -> CloudCall {
        CloudCall(path: "/chat/completions", fields: fields, stream: stream, streamError: { ChatResponseTranslation.errorEvent($0) })
    }

    /// The body to send: the endpoint's model name, without the Ollama fields a cloud refuses.
    func body(model: String) -> [UInt8] {
        var out = fields
        out["model"] = .string(model)
        out["keep_alive"] = nil  // an Ollama extension the cloud does not know
        return JSONValue.object(out).serialized()
    }
}
