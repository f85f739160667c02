import Foundation
import WireFormats

/// Turns a cloud endpoint's OpenAI `/embeddings` answer into Ollama's `/api/embed` answer (or, for
/// `legacy`, `/api/embeddings`'), for the Ollama client a route sent to the cloud tier. Ollama's
/// `/api/embed` scales every vector to length 1 and so does this: not every OpenAI-compatible server
/// does, and a client that compares vectors by dot product counts on it. The legacy endpoint's
/// vector goes back as it came, as Ollama's does.
package struct OllamaEmbeddingFromOpenAI: Sendable {
    /// The model as the client named it: what `/api/embed` echoes.
    package let model: String
    /// `/api/embeddings`: one vector, `{"embedding": [...]}`.
    package let legacy: Bool
    /// Nanoseconds since the request began, for `total_duration`.
    private let elapsedNanoseconds: @Sendable () -> Int64

    package init(model: String, legacy: Bool, elapsedNanoseconds: @escaping @Sendable () -> Int64) {
        self.model = model
        self.legacy = legacy
        self.elapsedNanoseconds = elapsedNanoseconds
    }

    /// Ollama's answer, or nil when the cloud's answer holds no vectors TensorWall can read.
    package func answer(_ openAI: JSONValue) -> [UInt8]? {
        guard let data = openAI["data"]?.arrayValue else { return nil }
        var vectors: [(index: Int64, values: [Double])] = []
        vectors.reserveCapacity(data.count)
        for (position, item) in data.enumerated() {
            guard let values = Self.vector(item["embedding"]) else { return nil }
            vectors.append((item["index"]?.intValue ?? Int64(position), values))
        }
        vectors.sort { $0.index < $1.index }
        if legacy {
            guard let first = vectors.first else { return nil }
            return JSONValue.object(["embedding": .array(first.values.map { .double($0) })]).serialized()
        }
        let embeddings = vectors.map { JSONValue.array(Self.unitLength($0.values).map { .double($0) }) }
        let answer: JSONObject = [
            "model": .string(model), "embeddings": .array(embeddings), "total_duration": .int(elapsedNanoseconds()),
            "load_duration": 0, "prompt_eval_count": .int(OpenAIAnswerParts.usage(openAI)?.prompt ?? 0),
        ]
        return JSONValue.object(answer).serialized()
    }

    /// A vector as numbers, or as OpenAI's `base64` encoding (little-endian 32-bit floats), which a
    /// server may send even when asked for floats.
    package static func vector(_ value: JSONValue?) -> [Double]? {
        switch value {
        case .array(let items)?:
            var values: [Double] = []
            values.reserveCapacity(items.count)
            for item in items {
                guard let number = item.doubleValue else { return nil }
                values.append(number)
            }
            return values
        case .string(let text)?:
            guard let bytes = Base64.decode(text), bytes.count % 4 == 0 else { return nil }
            return stride(from: 0, to: bytes.count, by: 4).map { start in
                let bits =
                    UInt32(bytes[start]) | UInt32(bytes[start + 1]) << 8 | UInt32(bytes[start + 2]) << 16 | UInt32(bytes[start + 3]) << 24
                return Double(Float(bitPattern: bits))
            }
        default:
            return nil
        }
    }

    /// The vector scaled to length 1, as Ollama's `normalize`; a zero vector stays as it is.
    static func unitLength(_ values: [Double]) -> [Double] {
        let length = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard length > 0, length.isFinite else { return values }
        return values.map { $0 / length }
    }
}
