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

@Suite struct SHA256Tests {
    @Test func matchesTheStandardVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
