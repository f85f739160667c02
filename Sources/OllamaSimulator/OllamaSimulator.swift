import Foundation
import HTTP1
import Synchronization
import WireFormats

/// A simulated Ollama server on a loopback port, answering with Ollama's real shapes and error
/// texts, so the balancer is tested over real HTTP. Faults can be switched on at any time.
public final class OllamaSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    let scheduler: SimulatedScheduler
    private let state = Mutex(State())

    struct State {
        var server: HTTPServer?
        var port = 0
        var fault = SimulatorFault.none
        var requestCounts: [String: Int] = [:]
        /// Of those, the load-only requests (an empty prompt or message list): a preload or an unload.
        var loadOnlyCounts: [String: Int] = [:]
        var lastBodies: [String: JSONValue] = [:]
        /// The last form received on a path, as sent (`multipart/form-data` bodies only).
        var lastForms: [String: (contentType: String, body: [UInt8])] = [:]
        /// The last body on each path that asked for an answer (not a load-only request).
        var lastAnswerBodies: [String: JSONValue] = [:]
        var lastAuthorization: [String: String] = [:]
        /// Streams pause after their first token while this is set (lets tests observe mid-stream state).
        var holdStreams = false
        /// A stream's last value is written and the end of its body waits while this is set, as Go's
        /// server writes a chunked body's end only once the handler has returned.
        var holdStreamEnds = false
        /// Models added by `/api/pull` or `/api/copy`.
        var pulled: [SimulatedModel] = []
        /// Models removed by `/api/delete` (pulled again, they are back).
        var deleted: Set<String> = []
        /// How many times longer prompts and tokens take than configured (a throttled or shared GPU).
        var slowdown = 1.0
        /// Answers evaluating their prompt or generating now, on every runner (`sharedGPUAnswers`).
        var answersRunning = 0
        /// Blobs uploaded to `/api/blobs`, by digest (`sha256:` and hex), with their size.
        var blobs: [String: Int] = [:]
    }

    /// Every model on this node's disk.
    public var models: [SimulatedModel] {
        state.withLock { state in (configuration.models + state.pulled).filter { !state.deleted.contains($0.name) } }
    }

    func addPulled(_ model: SimulatedModel) {
        state.withLock { state in
            state.deleted.remove(model.name)
            state.pulled.removeAll { $0.name == model.name }  // made again under the same name: replaced
            if !configuration.models.contains(where: { $0.name == model.name }) { state.pulled.append(model) }
        }
    }

    /// The size of an uploaded blob, nil when the node lacks it.
    public func blobSize(_ digest: String) -> Int? {
        let key = SHA256.canonicalBlobDigest(digest)
        return state.withLock { $0.blobs[key] }
    }

    func storeBlob(_ digest: String, size: Int) {
        state.withLock { $0.blobs[digest] = size }
    }

    func markDeleted(_ name: String) {
        state.withLock { _ = $0.deleted.insert(name) }
    }

    public init(_ configuration: SimulatorConfiguration) {
        self.configuration = configuration
        self.scheduler = SimulatedScheduler(configuration: configuration)
    }

    /// Starts listening (again, on the same port after a `stop`); returns the port.
    @discardableResult
    public func start() throws -> Int {
        let port = state.withLock { $0.port == 0 ? configuration.port : $0.port }
        var serverConfiguration = HTTPServerConfiguration(host: configuration.host, port: port)
        serverConfiguration.maxBodyBytes = 256 * 1024 * 1024
        let server = HTTPServer(configuration: serverConfiguration) { [weak self] request, writer in
            guard let self else { return }
            await self.handle(request, writer)
        }
        let bound = try server.start()
        state.withLock {
            $0.server = server
            $0.port = bound
        }
        return bound
    }

    /// Stops listening and drops every connection: clients then see "connection refused".
    public func stop() {
        let server = state.withLock { state -> HTTPServer? in
            defer { state.server = nil }
            return state.server
        }
        server?.stop()
    }

    public var port: Int { state.withLock { $0.port } }
    public var url: String { "http://127.0.0.1:\(port)" }

    public func setFault(_ fault: SimulatorFault) { state.withLock { $0.fault = fault } }

    /// Makes answers begun from now on take `factor` times as long to evaluate and generate (1: as
    /// configured): a node that stays up and answers, only slower, as a GPU that throttles or that
    /// another job shares. Loads keep their speed (the disk is not slower).
    public func setSlowdown(_ factor: Double) { state.withLock { $0.slowdown = max(0.01, factor) } }
    var slowdown: Double { state.withLock { $0.slowdown } }

    /// How many times longer than at full speed a prompt or token takes now: 1 unless more answers
    /// run than `sharedGPUAnswers` lets run at full speed.
    var gpuShareFactor: Double {
        guard let full = configuration.sharedGPUAnswers else { return 1 }
        return max(1, Double(state.withLock { $0.answersRunning }) / Double(full))
    }

    func answerStarted() { state.withLock { $0.answersRunning += 1 } }
    func answerEnded() { state.withLock { $0.answersRunning -= 1 } }
    public var fault: SimulatorFault { state.withLock { $0.fault } }

    public func holdStreams(_ hold: Bool) { state.withLock { $0.holdStreams = hold } }
    public func holdStreamEnds(_ hold: Bool) { state.withLock { $0.holdStreamEnds = hold } }

    /// How many requests reached `path` (e.g. "/api/chat").
    public func requestCount(_ path: String) -> Int { state.withLock { $0.requestCounts[path] ?? 0 } }

    /// How many requests on `path` asked for an answer: those that reached it, less load-only ones
    /// (a preload, TensorWall's load carried for a request, an unload).
    public func answeredCount(_ path: String) -> Int {
        state.withLock { ($0.requestCounts[path] ?? 0) - ($0.loadOnlyCounts[path] ?? 0) }
    }

    func countLoadOnly(_ path: String) { state.withLock { $0.loadOnlyCounts[path, default: 0] += 1 } }

    public func resetCounts() {
        state.withLock {
            $0.requestCounts = [:]
            $0.loadOnlyCounts = [:]
        }
    }

    /// The last JSON body received on `path`.
    public func lastBody(_ path: String) -> JSONValue? { state.withLock { $0.lastBodies[path] } }

    /// The last `multipart/form-data` body received on `path`, with its `Content-Type`.
    public func lastForm(_ path: String) -> (contentType: String, body: [UInt8])? { state.withLock { $0.lastForms[path] } }

    /// The last JSON body received on `path` that asked for an answer: a load-only request (a
    /// preload, TensorWall's load carried for a call, an unload) sent beside it does not replace it.
    public func lastAnswerBody(_ path: String) -> JSONValue? { state.withLock { $0.lastAnswerBodies[path] } }

    /// The Authorization header last received on `path` (to check what a cloud endpoint would see).
    public func lastAuthorization(_ path: String) -> String? { state.withLock { $0.lastAuthorization[path] } }

    public func preload(_ name: String) async {
        guard let model = find(name) else { return }
        await scheduler.preload(model, keepAlive: nil)
    }

    public func loadCount() async -> Int { await scheduler.loadCount }
    /// Loads running or queued behind the one running.
    public func pendingLoads() async -> Int { await scheduler.pendingLoads }
    public func evictionCount() async -> Int { await scheduler.evictionCount }
    /// Loads aborted because the request that started them went away (`SimulatedScheduler.abortedLoadCount`).
    public func abortedLoadCount() async -> Int { await scheduler.abortedLoadCount }
    public func loadsByModel() async -> [String: Int] { await scheduler.loadsByModel }
    public func lastLoadSeconds() async -> Double? { await scheduler.lastLoadSeconds }
    public func activeRequests(_ name: String) async -> Int {
        guard let model = find(name) else { return 0 }
        return await scheduler.activeRequests(model)
    }
    public func loadedModelNames() async -> [String] { await scheduler.loaded().map(\.model.name).sorted() }
    /// The `num_ctx` the loaded runner of a model was loaded with (nil: not loaded).
    public func runnerContextLength(_ name: String) async -> Int? {
        await scheduler.loaded().first { $0.model.name == (find(name)?.name ?? name) }?.contextLength
    }

    func find(_ raw: String) -> SimulatedModel? {
        var name = raw.lowercased()
        if !(name.split(separator: "/").last ?? "").contains(":") { name += ":latest" }
        for prefix in ["registry.ollama.ai/library/", "library/"] where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
        return models.first { $0.name.lowercased() == name }
    }

    func record(_ request: HTTPRequest) -> SimulatorFault {
        state.withLock { state in
            state.requestCounts[String(request.path), default: 0] += 1
            if let authorization = request.headers["Authorization"] { state.lastAuthorization[String(request.path)] = authorization }
            if let type = request.headers["Content-Type"], type.lowercased().hasPrefix("multipart/") {
                state.lastForms[String(request.path)] = (type, request.body)
            } else if !request.body.isEmpty, let json = try? JSONParser.parse(request.body) {
                state.lastBodies[String(request.path)] = json
                if !Self.isLoadOnly(json, path: request.path) { state.lastAnswerBodies[String(request.path)] = json }
            }
            return state.fault
        }
    }

    public var streamsHeld: Bool { state.withLock { $0.holdStreams } }
    var streamEndsHeld: Bool { state.withLock { $0.holdStreamEnds } }

    /// Whether a body is Ollama's load-only form of its endpoint: a chat with no messages, a
    /// generate with an empty prompt.
    static func isLoadOnly(_ body: JSONValue, path: Substring) -> Bool {
        switch path {
        case "/api/chat": return body["messages"]?.arrayValue?.isEmpty ?? true
        case "/api/generate": return body["prompt"]?.stringValue?.isEmpty ?? true
        default: return false
        }
    }
}
