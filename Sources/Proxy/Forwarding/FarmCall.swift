import APITranslation
import Balancer
import WireFormats

/// One request for the farm: what to send to the chosen node and how to turn its answer into
/// what the client asked for. Every API (OpenAI or native) goes through the same placement.
struct FarmCall: Sendable {
    var model: ModelName
    /// The model as the client named it, for error messages.
    var requestedName: String
    /// The node's endpoint, e.g. `/api/chat`.
    var path: String
    var body: [UInt8]
    /// The body's `Content-Type`: JSON but for a multipart form passed on (`/v1/audio/transcriptions`).
    var contentType = "application/json"
    var stream: Bool
    /// Hash of the conversation before its newest turn (placement), and including it (to remember).
    var conversationKey: UInt64? = nil
    var continuationKey: UInt64? = nil
    /// The request sends images: Ollama encodes them before the request takes a parallel slot, in
    /// time its answer's durations do not name, so that answer says nothing about waiting for a slot.
    var carriesImages = false
    /// The context length the call asks of the model's runner (`options.num_ctx`), which Ollama
    /// makes part of a loaded runner's identity (`RunnerContexts`); nil when it sets none.
    var contextLength: Int? = nil
    var makeTranslator: @Sendable () -> any AnswerTranslator

    /// The `options.num_ctx` of an Ollama request body, as Ollama reads it (a JSON number, whole or
    /// not, taken as an integer); nil when absent or of another type (Ollama then refuses the call).
    static func contextLength(_ body: JSONValue) -> Int? {
        guard let value = body["options"]?["num_ctx"]?.doubleValue, value.isFinite, abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    /// Whether an Ollama request body sends images: a generate's `images`, or a chat message's.
    static func sendsImages(_ body: JSONValue) -> Bool {
        body["images"]?.arrayValue?.isEmpty == false
            || body["messages"]?.arrayValue?.contains { $0["images"]?.arrayValue?.isEmpty == false } == true
    }
}
