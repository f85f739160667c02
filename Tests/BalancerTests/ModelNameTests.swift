import Testing

@testable import Balancer

@Suite struct ModelNameTests {
    @Test(arguments: [
        ("llama3.2", "llama3.2:latest"),
        ("Llama3.2:Latest", "llama3.2:latest"),
        ("llama3.2:latest", "llama3.2:latest"),
        ("registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"),
        ("library/mistral", "mistral:latest"),
        ("myuser/foo:7b", "myuser/foo:7b"),
        ("hf.co/org/model:Q4_K_M", "hf.co/org/model:q4_k_m"),
        ("llama3.1:70b", "llama3.1:70b"),
        ("localhost:5000/foo", "localhost:5000/foo:latest"),
    ])
    func normalisesLikeOllama(raw: String, canonical: String) {
        #expect(ModelName(raw)?.canonical == canonical)
    }

    @Test(arguments: ["", "  ", "a b", "/x", "x/", "x:", "a//b", ":tag"])
    func rejectsInvalidNames(raw: String) {
        #expect(ModelName(raw) == nil)
    }
}
