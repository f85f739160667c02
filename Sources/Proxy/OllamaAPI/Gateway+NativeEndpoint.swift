import APITranslation
import WireFormats

extension Gateway {
    /// The native inference endpoints and how each names what it needs.
    enum NativeEndpoint: String {
        case chat = "/api/chat"
        case generate = "/api/generate"
        case embed = "/api/embed"
        case embeddings = "/api/embeddings"

        /// Ollama streams chat and generate unless told not to; embeddings never stream.
        var streamsByDefault: Bool { self == .chat || self == .generate }

        /// The Go type Ollama reads the body into, which its errors for a field of the wrong type name.
        var goRequestType: String {
            switch self {
            case .chat: return "ChatRequest"
            case .generate: return "GenerateRequest"
            case .embed: return "EmbedRequest"
            case .embeddings: return "EmbeddingRequest"
            }
        }

        /// A request that only loads the model: a generate with no prompt, embeddings with no input.
        func loadsOnly(_ fields: JSONObject) -> Bool {
            switch self {
            case .chat: return false
            case .generate: return (fields["prompt"]?.stringValue ?? "").isEmpty
            case .embed, .embeddings: return OllamaRequestForCloud.embedLoadsOnly(fields, legacy: self == .embeddings)
            }
        }

        /// The request for a cloud target, in OpenAI's form, with the answer reshaped into Ollama's.
        func cloudCall(_ fields: JSONObject, stream: Bool, requested: String) -> CloudCall {
            switch self {
            case .chat, .generate: return .ollama(fields, generate: self == .generate, stream: stream, requested: requested)
            case .embed, .embeddings: return .ollamaEmbedding(fields, legacy: self == .embeddings, requested: requested)
            }
        }

        /// Ollama's own answer when no node has the model (the texts differ per endpoint).
        func notFound(_ name: String) -> APIError {
            switch self {
            case .chat, .generate: return APIError(status: 404, "model '\(name)' not found")
            case .embed, .embeddings: return APIError(status: 404, "model \"\(name)\" not found, try pulling it first")
            }
        }
    }
}
