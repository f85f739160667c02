// libFuzzer target: JSON parsing and the OpenAI -> Ollama request translation, then the Ollama ->
// OpenAI answer translation, on arbitrary bytes; and the cloud tier's: Ollama's (chat, generate,
// embeddings) and Anthropic's requests put in OpenAI's fields, and OpenAI's answers (whole, and as
// stream events) brought back in Ollama's and Anthropic's shapes. Thrown errors (answered as 400) are expected;
// crashes, traps and sanitizer reports are findings. Built by Fuzz/run.sh with Sources/Balancer
// and the translation files of Sources/Proxy.
import APITranslation
import WireFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func chatTranslationFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let body = try? JSONParser.parse(bytes) else { return 0 }
    if let translation = try? ChatRequestTranslation.translate(body) {
        _ = translation.ollamaBody.serialized()
        _ = translation.retargeted(to: "other-model")
    }
    var answer = ChatResponseTranslation(model: "m", includeUsage: true, created: 0, id: "chatcmpl-fuzz")
    _ = answer.completion(from: body)
    _ = answer.events(for: body)
    var text = TextCompletionTranslation(id: "cmpl-fuzz", created: 0, model: "m", includeUsage: true)
    _ = text.completion(from: body, raw: bytes)
    _ = EmbeddingTranslation(model: "m", base64: true).completion(from: body, raw: bytes)
    if let fields = body.objectValue {
        for stream in [false, true] {
            _ = try? OllamaRequestForCloud.chatFields(fields, stream: stream)
            _ = try? OllamaRequestForCloud.generateFields(fields, stream: stream)
            _ = try? AnthropicRequestForCloud.chatFields(fields, stream: stream)
        }
        _ = try? OllamaRequestForCloud.embedFields(fields)
        _ = try? OllamaRequestForCloud.legacyEmbeddingFields(fields)
        _ = OllamaRequestForCloud.embedLoadsOnly(fields, legacy: false)
    }
    // The answer as a whole answer, then as every event of a stream (an array: one event each).
    let events = body.arrayValue ?? [body]
    for isGenerate in [false, true] {
        var ollama = OllamaAnswerFromOpenAI(model: "m", isGenerate: isGenerate, timestamp: { "t" }, elapsedNanoseconds: { 0 })
        _ = ollama.whole(body)
        _ = ollama.lines(for: events)
        _ = ollama.finish()
    }
    for legacy in [false, true] {
        _ = OllamaEmbeddingFromOpenAI(model: "m", legacy: legacy, elapsedNanoseconds: { 0 }).answer(body)
    }
    var anthropic = AnthropicAnswerFromOpenAI(model: "m", id: "msg_fuzz")
    _ = anthropic.whole(body)
    _ = anthropic.events(for: events)
    _ = anthropic.finish()
    return 0
}
