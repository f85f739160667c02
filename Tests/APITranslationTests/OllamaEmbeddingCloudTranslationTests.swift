import APITranslation
import Testing
import WireFormats

/// Ollama's embedding requests in OpenAI's `/embeddings` fields, and the cloud's vectors brought
/// back in Ollama's answer: in order, of length 1 on `/api/embed`, from floats or base64.
@Suite struct OllamaEmbeddingCloudTranslationTests {
    private func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    private func reshaped(_ answer: String, legacy: Bool = false) throws -> JSONValue? {
        let reshaper = OllamaEmbeddingFromOpenAI(model: "hybrid", legacy: legacy, elapsedNanoseconds: { 42 })
        return try reshaper.answer(try json(answer)).map { try JSONParser.parse($0) }
    }

    /// Vectors as numbers: whole floats come back from JSON as integers.
    private func numbers(_ vectors: JSONValue?) -> [[Double]] {
        (vectors?.arrayValue ?? []).map { ($0.arrayValue ?? []).compactMap(\.doubleValue) }
    }

    @Test func theRequestTakesOpenAIsFields() throws {
        let embed = try #require(try json(#"{"model":"m","input":"hi","truncate":false,"dimensions":4,"keep_alive":0}"#).objectValue)
        #expect(
            JSONValue.object(try OllamaRequestForCloud.embedFields(embed)) == ["encoding_format": "float", "input": "hi", "dimensions": 4])
        let legacy = try #require(try json(#"{"model":"m","prompt":"hi","options":{"num_ctx":512}}"#).objectValue)
        #expect(JSONValue.object(try OllamaRequestForCloud.legacyEmbeddingFields(legacy)) == ["input": "hi", "encoding_format": "float"])
        let badDimensions = try #require(try json(#"{"input":"hi","dimensions":"4"}"#).objectValue)
        #expect(throws: APIError.self) { try OllamaRequestForCloud.embedFields(badDimensions) }
    }

    @Test(arguments: [
        (#"{"input":""}"#, false, true), (#"{"input":[]}"#, false, true), (#"{}"#, false, true), (#"{"input":null}"#, false, true),
        (#"{"input":"x"}"#, false, false), (#"{"input":[""]}"#, false, false), (#"{"input":3}"#, false, false),
        (#"{"prompt":""}"#, true, true), (#"{}"#, true, true), (#"{"prompt":"x"}"#, true, false), (#"{"prompt":1}"#, true, false),
    ])
    func onlyAnEmptyInputLoadsOnly(body: String, legacy: Bool, loadsOnly: Bool) throws {
        let fields = try #require(try json(body).objectValue)
        #expect(OllamaRequestForCloud.embedLoadsOnly(fields, legacy: legacy) == loadsOnly)
    }

    @Test func vectorsComeBackInOrderOfLengthOne() throws {
        let answer = try #require(
            try reshaped(
                #"""
                {"object":"list","model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5},
                 "data":[{"object":"embedding","index":1,"embedding":[0,0,2]},{"object":"embedding","index":0,"embedding":[3,4]}]}
                """#))
        #expect(answer["model"] == "hybrid" && answer["prompt_eval_count"] == 5 && answer["total_duration"] == 42)
        #expect(answer["load_duration"] == 0)
        #expect(numbers(answer["embeddings"]) == [[0.6, 0.8], [0, 0, 1]])
    }

    @Test func theLegacyVectorComesBackAsItCame() throws {
        let answer = try #require(try reshaped(#"{"data":[{"index":0,"embedding":[3,4]}]}"#, legacy: true))
        #expect(answer.objectValue?.fields.map(\.key) == ["embedding"])
        #expect(numbers(answer["embedding"].map { .array([$0]) }) == [[3, 4]])
    }

    @Test func base64VectorsAreRead() throws {
        // 1.0 and -2.0 as little-endian 32-bit floats.
        let encoded = Base64.encode([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])
        #expect(OllamaEmbeddingFromOpenAI.vector(.string(encoded)) == [1, -2])
        #expect(OllamaEmbeddingFromOpenAI.vector(.string(Base64.encode([1, 2, 3]))) == nil)
    }

    @Test(arguments: [#"{"object":"list"}"#, #"{"data":[{"embedding":"not base64!"}]}"#, #"{"data":[{"embedding":[1,"2"]}]}"#])
    func anAnswerWithoutVectorsIsNotReshaped(answer: String) throws {
        #expect(try reshaped(answer) == nil)
    }

    @Test func aLegacyAnswerNeedsAVector() throws {
        #expect(try reshaped(#"{"data":[]}"#, legacy: true) == nil)
        #expect(try reshaped(#"{"data":[]}"#)?["embeddings"] == [])
    }
}
