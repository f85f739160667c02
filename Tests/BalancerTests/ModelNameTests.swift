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
        #expect(ModelName.displayShortest(raw) == nil)
    }

    /// What Ollama prints of a name it has not got: normalised as `canonical` is, in the client's case.
    @Test(arguments: [
        ("Llama3.2", "Llama3.2:latest"),
        ("Llama3.2:Q4", "Llama3.2:Q4"),
        ("Registry.Ollama.AI/Library/Gemma:2B", "Gemma:2B"),
        ("Library/Mistral", "Mistral:latest"),
        ("MyUser/Foo", "MyUser/Foo:latest"),
        ("hf.co/Org/Model:Q4_K_M", "hf.co/Org/Model:Q4_K_M"),
    ])
    func displaysLikeOllamaInTheClientsCase(raw: String, shown: String) {
        #expect(ModelName.displayShortest(raw) == shown)
        #expect(ModelName(shown) == ModelName(raw))
    }
}
