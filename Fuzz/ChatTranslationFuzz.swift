// libFuzzer target: JSON parsing and the OpenAI -> Ollama request translation, then the Ollama ->
// OpenAI answer translation, on arbitrary bytes. Thrown errors (answered as 400) are expected;
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
    return 0
}
