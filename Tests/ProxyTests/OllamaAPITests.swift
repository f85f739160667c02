import Balancer
import OllamaSimulator
import Testing
import WireFormats

@testable import HTTP1
@testable import Proxy

/// The Ollama-native API through the balancer: the same placement as `/v1`, Ollama's own bytes and errors.
@Suite(.stopsFarms) struct OllamaAPITests {
    @Test func nativeChatStreamsNDJSONFromTheWarmNodeUntouched() async throws {
        let farm = try await TestFarm.start([.init(), .init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.text("POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/x-ndjson")
        let lines = answer.body.split(separator: "\n").map { try? JSONParser.parse(Array($0.utf8)) }
        #expect(lines.count > 2)
        #expect(lines.allSatisfy { $0?["message"]?["role"] == "assistant" })
        #expect(lines.last??["done"] == true)
        #expect(lines.last??["eval_count"]?.intValue ?? 0 > 0)
        #expect(farm.nodes[1].requestCount("/api/chat") == 1)
        #expect(farm.nodes[0].requestCount("/api/chat") == 0)
    }

    @Test func nativeGenerateWithoutStreamingIsOneObject() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/api/generate", body: #"{"model":"llama3.2","prompt":"Why?","stream":false}"#)
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/json; charset=utf-8")
        #expect(answer.body["response"]?.stringValue?.isEmpty == false)
        #expect(answer.body["done"] == true)
    }

    @Test(arguments: [
        ("/api/chat", #"{"messages":[]}"#, 400, "model is required"),
        ("/api/generate", #"{"prompt":"x"}"#, 404, "model '' not found"),
        ("/api/chat", #"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#, 404, "model 'nope' not found"),
        ("/api/embed", #"{"model":"nope","input":"x"}"#, 404, #"model "nope" not found, try pulling it first"#),
        ("/api/chat", "", 400, "missing request body"),
        ("/api/chat", #"{"model":"bad name!","messages":[]}"#, 400, "invalid model name"),
        // Go's own texts for a value of the wrong type, naming the request type each endpoint reads.
        (
            "/api/chat", #"{"model":"llama3.2","stream":"no"}"#, 400,
            "json: cannot unmarshal string into Go struct field ChatRequest.stream of type bool"
        ),
        (
            "/api/generate", #"{"model":"llama3.2","stream":1}"#, 400,
            "json: cannot unmarshal number into Go struct field GenerateRequest.stream of type bool"
        ),
        ("/api/generate", "[true]", 400, "json: cannot unmarshal array into Go value of type api.GenerateRequest"),
        ("/api/embed", "true", 400, "json: cannot unmarshal bool into Go value of type api.EmbedRequest"),
    ])
    func nativeErrorsAreOllamasOwn(path: String, body: String, status: Int, message: String) async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", path, body: body)
        #expect(answer.status == status)
        #expect(answer.body == ["error": .string(message)])
    }

    @Test func nativeRoutesNeedAGatewayKey() async throws {
        let farm = try await TestFarm.start([.init()])
        let answer = try await farm.json("GET", "/api/tags", headers: [:])
        #expect(answer.status == 401)
        #expect(answer.body["error"]?.stringValue?.contains("API key") == true)
        let withBearer = try await farm.json("GET", "/api/tags", headers: ["Authorization": "Bearer \(TestFarm.key)"])
        #expect(withBearer.status == 200)
        // Clients probe the root without credentials, as they do with Ollama.
        let root = try await farm.text("GET", "/", headers: [:])
        #expect(root.status == 200 && root.body == "Ollama is running")
    }

    @Test func embedIsPlacedAndPassedThrough() async throws {
        let farm = try await TestFarm.start([.init(models: ["nomic-embed-text"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/api/embed", body: #"{"model":"nomic-embed-text","input":["a","b"]}"#)
        #expect(answer.status == 200)
        #expect(answer.body["embeddings"]?.arrayValue?.count == 2)
        let legacy = try await farm.json("POST", "/api/embeddings", body: #"{"model":"nomic-embed-text","prompt":"a"}"#)
        #expect(legacy.body["embedding"]?.arrayValue?.count == 8)
        // Ollama's embedding requests have no `stream` field, so one of any type is ignored.
        let streamed = try await farm.json("POST", "/api/embed", body: #"{"model":"nomic-embed-text","input":"a","stream":"yes"}"#)
        #expect(streamed.status == 200 && streamed.body["embeddings"]?.arrayValue?.count == 1, "\(streamed.body)")
    }

    @Test func tagsAndPsAreOneListForTheWholeFarm() async throws {
        let farm = try await TestFarm.start([
            .init(models: ["llama3.2", "mistral"], preload: ["llama3.2"]), .init(models: ["llama3.2", "qwen2.5"], preload: ["llama3.2"]),
        ])
        try await farm.waitUntilAllHealthy()
        let tags = try await farm.json("GET", "/api/tags").body["models"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(tags?.sorted() == ["llama3.2:latest", "mistral:latest", "qwen2.5:latest"])
        let ps = try await farm.json("GET", "/api/ps").body["models"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(ps == ["llama3.2:latest"])
    }

    @Test func versionIsTheOldestNodes() async throws {
        let farm = try await TestFarm.start([.init(version: "0.12.10"), .init(version: "0.12.9")])
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.json("GET", "/api/version").body == ["version": "0.12.9"])
    }

    @Test func cloudStatusIsDisabledOnlyWhereEveryNodeHasItDisabled() async throws {
        let mixed = try await TestFarm.start([
            .init(cloudDisabled: true, cloudSwitchSource: "env"), .init(cloudDisabled: nil), .init(cloudDisabled: false),
        ])
        try await mixed.waitUntilAllHealthy()
        let status = try await mixed.json("GET", "/api/status")
        #expect(status.status == 200)
        #expect(status.body == ["cloud": ["disabled": false, "source": "none"]])
        #expect(try await mixed.request("HEAD", "/api/status").status == 405)

        let disabled = try await TestFarm.start([.init(cloudDisabled: true, cloudSwitchSource: "config"), .init(cloudDisabled: nil)])
        try await disabled.waitUntilAllHealthy()
        #expect(try await disabled.json("GET", "/api/status").body == ["cloud": ["disabled": true, "source": "config"]])

        // Nodes whose Ollama predates the route: 404, as for any `/api` path TensorWall does not know.
        let old = try await TestFarm.start([.init(cloudDisabled: nil)])
        try await old.waitUntilAllHealthy()
        let missing = try await old.json("GET", "/api/status")
        #expect(missing.status == 404)
        #expect(missing.body == ["error": "404 page not found"])
    }

    @Test func showAsksANodeThatHasTheModel() async throws {
        let farm = try await TestFarm.start([.init(models: ["mistral"]), .init(models: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        // TensorWall asks each node once about its model itself (`ModelDescriber`).
        #expect(await farm.eventually { farm.nodes.allSatisfy { $0.requestCount("/api/show") == 1 } })
        let shown = try await farm.json("POST", "/api/show", body: #"{"model":"llama3.2"}"#)
        #expect(shown.status == 200)
        #expect(shown.body["capabilities"] == ["completion", "tools"])
        #expect(farm.nodes[1].requestCount("/api/show") == 2)
        #expect(farm.nodes[0].requestCount("/api/show") == 1)
        let missing = try await farm.json("POST", "/api/show", body: #"{"model":"gemma"}"#)
        #expect(missing.status == 404)
        #expect(missing.body == ["error": "model 'gemma:latest' not found"])
        // Ollama keeps the client's case in the name it could not find.
        let capitalised = try await farm.json("POST", "/api/show", body: #"{"name":"Gemma"}"#)
        #expect(capitalised.status == 404)
        #expect(capitalised.body == ["error": "model 'Gemma:latest' not found"])
    }

    @Test func pullGoesToEveryHealthyNodeWithProgressPerNode() async throws {
        let spec = TestFarm.NodeSpec(registry: ["phi3"])
        let farm = try await TestFarm.start([spec, spec])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.text("POST", "/api/pull", body: #"{"model":"phi3"}"#)
        let lines = answer.body.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(Set(lines.compactMap { $0["node"]?.stringValue }) == ["node0", "node1"])
        #expect(lines.filter { $0["status"]?.stringValue?.hasSuffix(": success") == true }.count == 2)
        #expect(lines.last == ["status": "success"])
        #expect(await farm.eventually { (try? await farm.json("GET", "/api/tags").body["models"]?.arrayValue?.count) == 2 })
    }

    @Test func pullToANamedNodeAndAFailedPull() async throws {
        let spec = TestFarm.NodeSpec(registry: ["phi3"])
        let farm = try await TestFarm.start([spec, spec])
        try await farm.waitUntilAllHealthy()
        let one = try await farm.json("POST", "/api/pull", body: #"{"model":"phi3","node":"node1","stream":false}"#)
        #expect(one.body == ["status": "success"])
        #expect(farm.nodes[1].requestCount("/api/pull") == 1)
        #expect(farm.nodes[0].requestCount("/api/pull") == 0)
        #expect(farm.nodes[1].lastBody("/api/pull")?["node"] == nil)
        let failed = try await farm.json("POST", "/api/pull", body: #"{"model":"nothing-like-it","stream":false}"#)
        #expect(failed.status == 500)
        #expect(failed.body["error"]?.stringValue?.contains("file does not exist") == true)
        let unknownNode = try await farm.json("POST", "/api/pull", body: #"{"model":"phi3","node":"gpu9"}"#)
        #expect(unknownNode.status == 404)
    }

    /// `ollama rm` through TensorWall: gone from every node that had it, in Ollama's empty 200.
    @Test func deleteRemovesTheModelFromEveryNodeThatHasIt() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "phi3"]), .init(models: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let deleted = try await farm.text("DELETE", "/api/delete", body: #"{"model":"phi3"}"#)
        #expect(deleted.status == 200)
        #expect(deleted.body.isEmpty)
        #expect(farm.nodes[0].requestCount("/api/delete") == 1)
        #expect(farm.nodes[1].requestCount("/api/delete") == 1)
        // The nodes are probed again at once: routing and the model list no longer offer it.
        let names = try await farm.json("GET", "/api/tags").body["models"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["llama3.2:latest"])
        let chat = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"phi3","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(chat.status == 404)
        let again = try await farm.json("DELETE", "/api/delete", body: #"{"model":"phi3"}"#)
        #expect(again.status == 404)
        #expect(again.body == ["error": "model 'phi3' not found"])
        #expect(try await farm.text("POST", "/api/delete", body: #"{"model":"phi3"}"#).status == 405)
        let nameless = try await farm.json("DELETE", "/api/delete", body: #"{}"#)
        #expect(nameless.status == 400)
        #expect(nameless.body == ["error": #"name "" is invalid"#])
    }

    /// A node that fails the change is named, with the nodes that made it: the farm is half changed.
    @Test func aDeleteOneNodeFailsIsAnErrorNamingIt() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "phi3"]), .init(models: ["llama3.2", "phi3"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[1].setFault(.error500)
        let answer = try await farm.json("DELETE", "/api/delete", body: #"{"model":"phi3"}"#)
        #expect(answer.status == 500)
        #expect(answer.body == ["error": "node node1: remove phi3:latest: permission denied (done on node0)"])
        farm.nodes[1].setFault(.none)
        let onNode1 = try await farm.text("DELETE", "/api/delete", body: #"{"model":"phi3","node":"node1"}"#)
        #expect(onNode1.status == 200)
        #expect(farm.nodes[0].requestCount("/api/delete") == 1)
        #expect(farm.nodes[1].lastBody("/api/delete") == ["model": "phi3"])
    }

    /// `ollama cp` through TensorWall: the copy is on the nodes that had the source, and serves at once.
    @Test func copyMakesTheNewNameOnTheNodesThatHaveTheSource() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2", "phi3"]), .init(models: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let copied = try await farm.text("POST", "/api/copy", body: #"{"source":"phi3","destination":"my-phi"}"#)
        #expect(copied.status == 200)
        #expect(copied.body.isEmpty)
        #expect(farm.nodes[0].models.contains { $0.name == "my-phi:latest" })
        #expect(!farm.nodes[1].models.contains { $0.name == "my-phi:latest" })
        let chat = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"my-phi","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(chat.status == 200)
        #expect(farm.nodes[0].requestCount("/api/chat") >= 1)
        let missing = try await farm.json("POST", "/api/copy", body: #"{"source":"nope","destination":"x"}"#)
        #expect(missing.status == 404)
        #expect(missing.body == ["error": #"model "nope" not found"#])
        let nowhere = try await farm.json("POST", "/api/copy", body: #"{"source":"phi3"}"#)
        #expect(nowhere.status == 400)
        #expect(nowhere.body == ["error": #"destination "" is invalid"#])
    }

    /// The seed's custom model: `ollama create coding-assistant -f Modelfile` (`FROM llama3.2`) through
    /// TensorWall makes it on every node that holds the base, and `ollama/coding-assistant` serves at once.
    @Test func createMakesTheCustomModelWhereverItsBaseIs() async throws {
        let farm = try await TestFarm.start([.init(), .init(), .init(models: ["phi3"])])
        try await farm.waitUntilAllHealthy()
        let body =
            #"{"model":"coding-assistant","from":"llama3.2","system":"You are a helpful coding assistant.","parameters":{"temperature":0.7}}"#
        let answer = try await farm.text("POST", "/api/create", body: body)
        #expect(answer.status == 200)
        let lines = answer.body.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(Set(lines.compactMap { $0["node"]?.stringValue }) == ["node0", "node1"])
        #expect(lines.filter { $0["status"]?.stringValue?.hasSuffix(": success") == true }.count == 2)
        #expect(lines.last == ["status": "success"])
        #expect(farm.nodes[2].requestCount("/api/create") == 0)
        let sent = farm.nodes[0].lastBody("/api/create")
        #expect(sent?["system"] == "You are a helpful coding assistant.")
        #expect(sent?["stream"] == true)
        #expect(sent?["node"] == nil)
        // Probed again before the last line: routable at once, as the seed's next step expects.
        let chat = try await farm.chat("ollama/coding-assistant")
        #expect(chat.status == 200)
    }

    /// A base no node holds is made on every node, each pulling it first as Ollama does alone.
    @Test func createFromABaseNoNodeHoldsGoesToEveryNode() async throws {
        let spec = TestFarm.NodeSpec(registry: ["phi3"])
        let farm = try await TestFarm.start([spec, spec])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/api/create", body: #"{"model":"terse-phi","from":"phi3","stream":false}"#)
        #expect(answer.status == 200)
        #expect(answer.body == ["status": "success"])
        #expect(farm.nodes.allSatisfy { node in node.models.contains { $0.name == "terse-phi:latest" } })
        let missing = try await farm.json("POST", "/api/create", body: #"{"model":"x","from":"nothing-like-it","stream":false}"#)
        #expect(missing.status == 500)
        #expect(missing.body["error"]?.stringValue?.contains("node node0: pull model manifest: file does not exist") == true)
    }

    @Test func createRefusesWhatOllamaRefuses() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let noBase = try await farm.json("POST", "/api/create", body: #"{"model":"x","system":"hi"}"#)
        #expect(noBase.status == 400)
        #expect(noBase.body == ["error": "neither 'from' or 'files' was specified"])
        let noName = try await farm.json("POST", "/api/create", body: #"{"from":"llama3.2"}"#)
        #expect(noName.status == 400)
        #expect(noName.body == ["error": "invalid model name"])
    }

    /// `ollama push` through TensorWall: the registry needs the files once, so one node that holds
    /// the model pushes them; a model no node holds gets the error Ollama gives for it.
    @Test func pushGoesToOneNodeThatHoldsTheModel() async throws {
        let farm = try await TestFarm.start([.init(models: ["llama3.2"]), .init(models: ["llama3.2", "team/phi3"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.text("POST", "/api/push", body: #"{"model":"team/phi3"}"#)
        #expect(answer.status == 200)
        let lines = answer.body.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(lines.contains { $0["status"]?.stringValue == "pushing manifest" && $0["node"] == "node1" })
        #expect(lines.last == ["status": "success"])
        #expect(farm.nodes[1].requestCount("/api/push") == 1)
        #expect(farm.nodes[0].requestCount("/api/push") == 0)
        #expect(farm.nodes[1].lastBody("/api/push")?["stream"] == true)
        let whole = try await farm.json("POST", "/api/push", body: #"{"model":"llama3.2","stream":false}"#)
        #expect(whole.body == ["status": "success"])
        #expect(farm.nodes[0].requestCount("/api/push") + farm.nodes[1].requestCount("/api/push") == 2)
        let missing = try await farm.json("POST", "/api/push", body: #"{"model":"team/none","stream":false}"#)
        #expect(missing.status == 500)
        #expect(missing.body["error"]?.stringValue?.contains("team/none/latest: no such file or directory") == true)
        let nameless = try await farm.json("POST", "/api/push", body: #"{"stream":false}"#)
        #expect(nameless.status == 400)
        #expect(nameless.body == ["error": "model is required"])
    }

    /// `ollama create` from a local GGUF through TensorWall: the file is uploaded once and goes on
    /// to every node as it arrives (past `limits.maxBodyBytes`, so never held whole), each node
    /// checks it against its digest, and the model is made from it on every node.
    @Test func anUploadedBlobReachesEveryNodeAndMakesTheModelThere() async throws {
        let farm = try await TestFarm.start([.init(), .init()]) { $0.limits.maxBodyBytes = 100_000 }
        try await farm.waitUntilAllHealthy()
        let weights = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let digest = SHA256.blobDigest(weights)
        let octets: HTTPHeaders = ["X-API-Key": TestFarm.key, "Content-Type": "application/octet-stream"]
        #expect(try await farm.request("HEAD", "/api/blobs/\(digest)", headers: ["X-API-Key": TestFarm.key]).status == 404)
        let uploaded = try await farm.request("POST", "/api/blobs/\(digest)", bytes: weights, headers: octets)
        #expect(uploaded.status == 201)
        #expect(farm.nodes.map { $0.blobSize(digest) } == [300_000, 300_000])
        #expect(try await farm.request("HEAD", "/api/blobs/\(digest)", headers: ["X-API-Key": TestFarm.key]).status == 200)
        #expect(try await farm.request("POST", "/api/blobs/\(digest)", bytes: weights, headers: octets).status == 200)
        // Sent chunked, in pieces of odd sizes, it goes on chunked: its length is known only at its end.
        let other = Array(weights.reversed()) + Array(weights.prefix(777))
        let chunked = try await HTTPUpload.start(
            HTTPClientRequest(
                method: "POST", host: "127.0.0.1", port: farm.port, target: "/api/blobs/\(SHA256.blobDigest(other))", headers: octets),
            length: nil, client: HTTPClient(), timeouts: HTTPClientTimeouts())
        for start in stride(from: 0, to: other.count, by: 65_537) {
            try await chunked.send(Array(other[start..<min(start + 65_537, other.count)]))
        }
        #expect(try await chunked.response().status == 201)
        #expect(farm.nodes.map { $0.blobSize(SHA256.blobDigest(other)) } == [300_777, 300_777])
        // A byte changed on the way is refused by the node, in Ollama's words.
        var damaged = weights
        damaged[1000] ^= 1
        let refused = try await farm.request("POST", "/api/blobs/\(SHA256.blobDigest(damaged.reversed()))", bytes: damaged, headers: octets)
        #expect(refused.status == 400)
        #expect(String(decoding: try await refused.collect(), as: UTF8.self).contains("digest mismatch"))
        // A chunked upload whose framing breaks is answered, not dropped.
        let raw = try await HTTPClientConnection.open(host: "127.0.0.1", port: farm.port, poolKey: "raw", deadline: .now + .seconds(5))
        defer { raw.socket.close() }
        let broken =
            "POST /api/blobs/\(SHA256.blobDigest([1])) HTTP/1.1\r\nHost: x\r\nX-API-Key: \(TestFarm.key)\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\nzz\r\nhello\r\n"
        try await raw.socket.write(Array(broken.utf8), until: .now + .seconds(5))
        while try await raw.socket.read(into: raw.buffer, until: .now + .seconds(10)) > 0 {}
        let answer = String(decoding: raw.buffer.readable, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 400"))
        #expect(answer.contains("request body: "))
        let invalid = try await farm.json("POST", "/api/blobs/sha256:0123", body: "x")
        #expect(invalid.status == 400)
        #expect(invalid.body == ["error": "invalid digest format"])

        let made = try await farm.text("POST", "/api/create", body: #"{"model":"my-gguf","files":{"model.gguf":"\#(digest)"}}"#)
        #expect(made.status == 200)
        #expect(made.body.hasSuffix(#"{"status":"success"}"# + "\n"))
        #expect(farm.nodes.allSatisfy { node in node.models.contains { $0.name == "my-gguf:latest" } })
        #expect(try await farm.chat("my-gguf").status == 200)
        let missing = try await farm.json(
            "POST", "/api/create", body: #"{"model":"x","files":{"m.gguf":"sha256:\#(String(repeating: "0", count: 64))"},"stream":false}"#)
        #expect(missing.status == 500)
        #expect(missing.body["error"]?.stringValue?.contains("no such file or directory") == true)
    }
}

@Suite(.stopsFarms) struct OllamaAPIFailureTests {
    @Test func aNativeStreamThatBreaksEndsWithAnErrorLineAndNoDone() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.dropMidStream)
        let answer = try await farm.text("POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200)
        let lines = answer.body.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(lines.count >= 2)
        #expect(lines.last?["error"]?.stringValue?.isEmpty == false)
        #expect(!lines.contains { $0["done"] == true })
    }

    @Test func aNativeRequestIsRetriedOnAnotherNodeBeforeItsFirstByte() async throws {
        let warm = TestFarm.NodeSpec(preload: ["llama3.2"])
        let farm = try await TestFarm.start([warm, warm])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.error500)
        farm.nodes[1].setFault(.error500)
        let failed = try await farm.json("POST", "/api/generate", body: #"{"model":"llama3.2","prompt":"x","stream":false}"#)
        #expect(failed.status == 500)
        #expect(failed.body["error"]?.stringValue?.contains("model runner has unexpectedly stopped") == true)
        farm.nodes[1].setFault(.none)
        let served = try await farm.json("POST", "/api/generate", body: #"{"model":"llama3.2","prompt":"x","stream":false}"#)
        #expect(served.status == 200)
    }
}
