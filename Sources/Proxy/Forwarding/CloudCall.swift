import APITranslation
import Foundation
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
    /// For an Ollama client (`/api/chat`): the answer reshaped into Ollama's, instead of relayed as
    /// the cloud sent it.
    var ollamaChat: OllamaChatFromOpenAI?

    /// A call for `/v1/chat/completions`: the chat stream's own error chunk.
    static func chat(_ fields: JSONObject, stream: Bool) -> CloudCall {
        CloudCall(path: "/chat/completions", fields: fields, stream: stream, streamError: { ChatResponseTranslation.errorEvent($0) })
    }

    /// A call for Ollama's `/api/chat`: the request in OpenAI's fields, the answer in Ollama's.
    /// `requested` is the model as the client named it, which the answer echoes.
    static func ollamaChat(_ fields: JSONObject, stream: Bool, requested: String) throws(APIError) -> CloudCall {
        let started = ContinuousClock.now
        let answer = OllamaChatFromOpenAI(
            model: requested, timestamp: Self.ollamaTimestamp,
            elapsedNanoseconds: {
                let elapsed = ContinuousClock.now - started
                return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            })
        return CloudCall(
            path: "/chat/completions", fields: try OllamaChatForCloud.openAIFields(fields, stream: stream), stream: stream,
            streamError: { OllamaChatFromOpenAI.errorLine($0) }, ollamaChat: answer)
    }

    /// Ollama's `created_at`: RFC 3339 in UTC with fractions of a second.
    @Sendable static func ollamaTimestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }

    /// The body to send: the endpoint's model name, without the Ollama fields a cloud refuses.
    func body(model: String) -> [UInt8] {
        var out = fields
        out["model"] = .string(model)
        out["keep_alive"] = nil  // an Ollama extension the cloud does not know
        return JSONValue.object(out).serialized()
    }
}
