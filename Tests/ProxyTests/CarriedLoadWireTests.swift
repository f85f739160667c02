import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// A request's cold load is carried by a load-only request of TensorWall's own (`Gateway.carryLoad`):
/// Ollama aborts a load when the request that started it goes away, and the requests queued for the
/// model would then wait for a second load from the start.
@Suite(.stopsFarms) struct CarriedLoadWireTests {
    /// Cold loads of about 2 s real: long enough to leave in the middle of one.
    static let slowLoads = TestFarm.NodeSpec(loadSecondsPerGB: 1000)

    @Test func aClientThatLeavesDuringItsColdLoadDoesNotAbortTheLoad() async throws {
        let farm = try await TestFarm.start([Self.slowLoads])
        try await farm.waitUntilAllHealthy()
        let leaving = Task { try await farm.chat(stream: true) }
        // The load is under way on the node, with the call queued behind it; then the client hangs up.
        #expect(await farm.eventually { await farm.nodes[0].pendingLoads() == 2 })
        leaving.cancel()
        _ = try? await leaving.value
        // A request that comes meanwhile is served by that same load.
        let next = try await farm.chat()
        #expect(next.status == 200)
        #expect(await farm.nodes[0].abortedLoadCount() == 0)
        #expect(await farm.nodes[0].loadCount() == 1)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 2)  // the call that left had reached the node too
        // The load's own lesson is kept, though nobody was answered from the request that placed it.
        // The carried load's task hears its end on its own: on a busy host the call it carried can
        // be answered first, so the lesson is waited for.
        let learned = await farm.eventually {
            (try? await farm.json("GET", "/status").body["nodes"]?[0]?["loadSecondsPerGB"]?.doubleValue) != nil
        }
        #expect(learned)
    }

    /// Ollama reloads a runner loaded with another `num_ctx` than a request's: a load carried without
    /// the call's options would be loaded twice.
    @Test func theCarriedLoadSendsTheCallsOptionsAndKeepAlive() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let body =
            #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_ctx":8192},"keep_alive":"7m"}"#
        let answer = try await farm.json("POST", "/api/chat", body: body)
        #expect(answer.status == 200)
        #expect(await farm.nodes[0].loadCount() == 1)
        #expect(farm.nodes[0].requestCount("/api/chat") == 2)
        #expect(farm.nodes[0].answeredCount("/api/chat") == 1)
        // A second call with other options reloads the model, as on Ollama itself.
        let other = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_ctx":4096}}"#
        #expect(try await farm.json("POST", "/api/chat", body: other).status == 200)
        #expect(await farm.nodes[0].loadCount() == 2)
    }

    /// A `keep_alive` of zero unloads the model once the call ends; sent with the load, it would unload
    /// the model before the call reached it, and the call would load it again.
    @Test(arguments: [#"0"#, #""0s""#, #""0m""#])
    func aKeepAliveThatUnloadsAtOnceIsLeftToTheCall(keepAlive: String) async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let body = #"{"model":"llama3.2","prompt":"hi","stream":false,"keep_alive":\#(keepAlive)}"#
        #expect(try await farm.json("POST", "/api/generate", body: body).status == 200)
        #expect(await farm.nodes[0].loadCount() == 1)
    }

    /// The load fails as the call would have: a model the node lacks gets Ollama's own answer.
    @Test func aLoadThatFailsAnswersAsTheCallWouldHave() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        farm.nodes[0].setFault(.error500)
        let answer = try await farm.json(
            "POST", "/api/chat", body: #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}"#)
        #expect(answer.status == 500)
        #expect(answer.body["error"]?.stringValue?.contains("model runner has unexpectedly stopped") == true)
        #expect(farm.nodes[0].requestCount("/api/chat") == 2)  // the load, and the call behind it
    }

    /// A call Ollama refuses before it loads anything (a field of the wrong type) loads nothing
    /// through TensorWall either: the load-only request is the call's body with its input emptied,
    /// and Ollama refuses it the same way.
    @Test(arguments: [
        (#""options":"fast""#, "json: cannot unmarshal string into Go struct field ChatRequest.options of type map[string]interface {}"),
        (#""keep_alive":"300""#, #"time: missing unit in duration "300""#),
    ])
    func aCallOllamaRefusesLoadsNothing(field: String, error: String) async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let body = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false,\#(field)}"#
        let answer = try await farm.json("POST", "/api/chat", body: body)
        #expect(answer.status == 400)
        #expect(answer.body["error"]?.stringValue == error)
        #expect(await farm.nodes[0].loadCount() == 0)
    }

    /// Embeddings have no load-only form: their own request loads the model.
    @Test func anEmbeddingLoadsTheModelWithItsOwnRequest() async throws {
        let farm = try await TestFarm.start([.init()])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json("POST", "/api/embed", body: #"{"model":"llama3.2","input":"hi"}"#)
        #expect(answer.status == 200)
        #expect(farm.nodes[0].requestCount("/api/embed") == 1)
        #expect(farm.nodes[0].requestCount("/api/generate") == 0)
        #expect(await farm.nodes[0].loadCount() == 1)
    }
}
