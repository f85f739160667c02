import APITranslation
import Balancer
import WireFormats

/// One request for a cloud endpoint: the OpenAI path under the endpoint's URL and the body as the
/// client wrote it, with the endpoint's name for the model. Every `/v1` API a cloud speaks
/// (chat, text completions, embeddings, Responses, transcriptions), and the other APIs' requests put
/// in its form, go through the same send and relay.
struct CloudCall: Sendable {
    /// The path under the endpoint's URL, e.g. `/chat/completions`.
    var path: String
    /// The body to send, given the endpoint's name for the model: the client's own OpenAI fields (or
    /// form), or for a client of another API its fields put in OpenAI's form, worked out only when a
    /// cloud target is tried, so a request the farm serves never pays for the translation (images
    /// copied into data URLs and all).
    private let makeBody: @Sendable (String) throws(APIError) -> [UInt8]
    /// The body's `Content-Type`.
    var contentType = "application/json"
    /// Whether a whole answer must be JSON: false for an API whose answer may be plain text
    /// (a transcription's `text`, `srt` or `vtt`), which is relayed as the cloud labels it.
    var wholeAnswerIsJSON = true
    var stream: Bool
    /// An in-band error in the API's own stream format, for a stream the cloud cut.
    var streamError: @Sendable (String) -> [UInt8]
    /// For a client of another API (Ollama's, Anthropic's): the answer reshaped into its own, instead
    /// of relayed as the cloud sent it.
    var reshaper: (any CloudAnswerReshaper)?

    private init(
        path: String, stream: Bool, streamError: @escaping @Sendable (String) -> [UInt8],
        makeBody: @escaping @Sendable (String) throws(APIError) -> [UInt8]
    ) {
        self.path = path
        self.makeBody = makeBody
        self.stream = stream
        self.streamError = streamError
    }

    /// A call with the client's OpenAI fields as they came.
    init(path: String, fields: JSONObject, stream: Bool, streamError: @escaping @Sendable (String) -> [UInt8]) {
        self.init(path: path, stream: stream, streamError: streamError) { model in Self.serialized(fields, model: model) }
    }

    /// A call for a client of another API: `translation` gives the OpenAI fields when the call is
    /// sent, and `reshaper` brings the answer back (and writes its in-band errors).
    init(
        path: String, stream: Bool, reshaper: any CloudAnswerReshaper, translation: @escaping @Sendable () throws(APIError) -> JSONObject
    ) {
        self.init(path: path, stream: stream, streamError: { reshaper.streamError($0) }) { model throws(APIError) in
            Self.serialized(try translation(), model: model)
        }
        self.reshaper = reshaper
    }

    /// A call for `/v1/chat/completions`: the chat stream's own error chunk.
    static func chat(_ fields: JSONObject, stream: Bool) -> CloudCall {
        CloudCall(path: "/chat/completions", fields: fields, stream: stream, streamError: { ChatResponseTranslation.errorEvent($0) })
    }

    /// A call for Ollama's `/api/chat` (or, `generate`, `/api/generate`): the request in OpenAI's
    /// chat fields, the answer in Ollama's. `requested` is the model as the client named it, which
    /// the answer echoes.
    static func ollama(_ fields: JSONObject, generate: Bool, stream: Bool, requested: String) -> CloudCall {
        let started = ContinuousClock.now
        let answer = OllamaAnswerFromOpenAI(
            model: requested, isGenerate: generate, timestamp: { UTCTimestamp.now() },
            elapsedNanoseconds: { nanoseconds(since: started) })
        return CloudCall(path: "/chat/completions", stream: stream, reshaper: answer) {
            () throws(APIError) in
            generate
                ? try OllamaRequestForCloud.generateFields(fields, stream: stream)
                : try OllamaRequestForCloud.chatFields(fields, stream: stream)
        }
    }

    /// A call for Ollama's `/api/embed` (or, `legacy`, `/api/embeddings`): the request as OpenAI's
    /// `/embeddings`, the answer in Ollama's. `requested` is the model as the client named it.
    static func ollamaEmbedding(_ fields: JSONObject, legacy: Bool, requested: String) -> CloudCall {
        let started = ContinuousClock.now
        let answer = OllamaEmbeddingFromOpenAI(model: requested, legacy: legacy, elapsedNanoseconds: { nanoseconds(since: started) })
        return CloudCall(path: "/embeddings", stream: false, reshaper: answer) {
            () throws(APIError) in
            legacy ? try OllamaRequestForCloud.legacyEmbeddingFields(fields) : try OllamaRequestForCloud.embedFields(fields)
        }
    }

    /// Nanoseconds since `start`, for Ollama's `total_duration`.
    private static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 { (ContinuousClock.now - start).wholeNanoseconds }

    /// A call for Anthropic's `/v1/messages`: the request in OpenAI's chat fields, the answer in
    /// Anthropic's. `requested` is the model as the client named it, which the message names.
    static func anthropicMessages(_ fields: JSONObject, stream: Bool, requested: String) -> CloudCall {
        var random = FastRandom()
        let answer = AnthropicAnswerFromOpenAI(model: requested, id: ChatResponseTranslation.makeID(prefix: "msg_", using: &random))
        return CloudCall(path: "/chat/completions", stream: stream, reshaper: answer) {
            () throws(APIError) in try AnthropicRequestForCloud.chatFields(fields, stream: stream)
        }
    }

    /// A call for `/v1/audio/transcriptions`: the client's form as it came but for the model's
    /// name, and the answer (JSON, or the plain text some formats ask for) relayed as it comes.
    static func transcription(_ form: MultipartForm, body: [UInt8], contentType: String) -> CloudCall {
        var call = CloudCall(path: "/audio/transcriptions", stream: false, streamError: { _ in [] }) { model in
            form.replacing("model", with: model, in: body)
        }
        call.contentType = contentType
        call.wholeAnswerIsJSON = false
        return call
    }

    /// The body to send, with the endpoint's name for the model; the translation's error for a
    /// request it cannot put in OpenAI's form.
    func body(model: String) throws(APIError) -> [UInt8] { try makeBody(model) }

    /// OpenAI fields as sent: the endpoint's model name, without the Ollama fields a cloud refuses.
    private static func serialized(_ fields: JSONObject, model: String) -> [UInt8] {
        var out = fields
        out["model"] = .string(model)
        out["keep_alive"] = nil  // an Ollama extension the cloud does not know
        return JSONValue.object(out).serialized()
    }
}
