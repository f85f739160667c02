import Balancer
import Foundation
import HTTP1
import OllamaSimulator
import Synchronization
import WireFormats

// Placement under load: every strategy on the same seeded trace over a simulated farm, swept over
// offered load from light to overload, and an all-warm lower bound. Prints Markdown tables.
//   placement-bench [--loads 0.25,0.5,0.75,1,1.25] [--seconds 300] [--warmup 60] [--time-scale 0.2]
//                   [--zipf 1.1] [--order small-first|large-first] [--shift] [--only affinity,bound] [--seed 42]
//                   [--tokens-per-second 20] [--prompt-tokens-per-second 2000] [--by-model] [--retry-refused] [--log-dir DIR] [--log-level debug] [--dump-trace FILE]
//                   [--answer-lengths fixed|varied] (and the flags in `usage` below)
// Loads are shares of the farm's token capacity: nodes × parallel slots × tokens/s ÷ answer tokens, the
// requests/s the GPUs could generate if each ran its parallel slots flat out on one model.
// Times in the tables are simulated seconds (real seconds divided by the time scale).

var loads = [0.25, 0.5, 0.75, 1.0, 1.25]
var simulatedSeconds = 300.0
var warmupSeconds = 60.0
var timeScale = 0.2
var zipf = 1.1
var largeFirst = false
var shift = false
var seed: UInt64 = 42
/// Generation speed per slot (`--tokens-per-second`): faster nodes make service short next to cold loads.
var tokensPerSecond = 20.0
var promptTokensPerSecond = 2000.0
var only: Set<String>?
/// Where TensorWall's log of each run goes (`--log-dir`); without it TensorWall logs errors only.
var logDirectory: String?
var logLevel = "error"
/// Print each model's share, cold loads and TTFT under each row (`--by-model`).
var byModel = false
/// Where to write each load's trace (`--dump-trace FILE` writes FILE.75 for 75 %; a line per request:
/// simulated second, model, 1 for a conversation's first turn), to study a trace apart from any run.
var traceDumpPath: String?
/// What TensorWall's cluster.json says of each node (`--node-config`): `full` gives its slots, loaded-model
/// cap and VRAM; `bare` gives only its name and URL, as a harness that knows only Ollama would write,
/// so TensorWall must find the limits from the nodes themselves.
var bareNodeConfig = false
/// GB each loaded runner takes beyond its weights (`--runner-overhead-gb`): KV cache and compute graph,
/// which Ollama's `/api/ps` counts in `size` (mistral: 4.1 GB on disk, 5.1 GB loaded).
var runnerOverheadGB = 0.0
/// Which idle model a node unloads on its own when a load needs room (`--eviction-order`): `lru`, or
/// `ollama` (Ollama's `findRunnerToUnload`: shortest keep-alive, then blob digest, not use).
var evictionOrder = EvictionOrder.leastRecentlyUsed
/// With other models loaded, a load must fit in this share of the free VRAM (`--load-fit-share-of-free`,
/// 0.8 as `shared/ollama-api.md` reads Ollama's scheduler); without it, in all of it.
var loadFitShareOfFree: Double?
/// Simulated seconds of every answer that only `total_duration` counts (`--uncounted-seconds-per-answer`):
/// a node whose other durations leave out work done on every answer, which must not read as a queue.
var uncountedSecondsPerAnswer = 0.0
/// How many answers a simulated node's GPU runs at full speed at once, whatever model they are for
/// (`--shared-gpu-answers`); more share it. Without it each answer runs at its own full speed, and a
/// node with three models loaded answers three times what the token capacity counts.
var sharedGPUAnswers: Int?
/// Parallel slots the simulated Ollama really runs (`--ollama-num-parallel`), when fewer than the
/// `maxParallel` TensorWall's cluster.json gives it: a config written for an older Ollama.
var ollamaNumParallel: Int?
/// Models the simulated Ollama really keeps loaded (`--ollama-max-loaded`), when fewer than the
/// `maxLoadedModels` TensorWall's cluster.json gives it: a node started with `OLLAMA_MAX_LOADED_MODELS` lower.
var ollamaMaxLoaded: Int?
/// Models each node keeps loaded at most (`--max-loaded`), in cluster.json and in the simulated Ollama
/// alike: 3 is Ollama's default; 1 or 2 is a farm of large models, where places are fewer than models.
var maxLoaded = 3
/// How many nodes the farm has (`--nodes`): 4 is the issue's farm; more shows how placement spreads on a
/// farm with room for many copies, fewer how it packs when places run short. The trace's rate scales with it.
var nodeCount = 4
/// Each node's VRAM (`--vram-gb`): 16 is the issue's farm; 8 holds only one or two of the larger models.
var vramGB = 16.0
/// What the simulated nodes multiply their reported durations by (`--reported-duration-scale`): with
/// the time scale, 0.2 reports the seconds simulated where TensorWall is told real ones.
var reportedDurationScale = 1.0
/// Seconds a simulated node takes per GB it loads, after a 1 s start (`--load-seconds-per-gb`): 1.5 gives
/// 4-12 s loads for the trace's models; Ollama on slower disks or larger models takes 5-30 s.
var loadSecondsPerGB = 1.5
/// How long answers run (`--answer-lengths fixed|varied`): all 64 tokens, or drawn around that mean.
var answerLengths = AnswerLengths.fixed
/// The share of conversations whose client sets `options.num_ctx` (`Trace.init(contextShare:)`).
var contextShare = 0.0
/// The `num_ctx` those clients set (`--context-length`).
var askedContextLength = Trace.defaultAskedContextLength
/// TensorWall's `numCtx` policy (`--num-ctx exact|atLeast`).
var numCtxPolicy = "exact"
/// Clients that honour Retry-After (`--retry-refused`): a refused request is sent again, once, when its
/// Retry-After says; the refused column then counts those real retries refused again, not the trace's
/// stand-ins for them.
var retryRefused = false
/// A node that goes away mid-run and comes back cold (`--outage N@START-END`, `--outage-kind stop|hang`).
var outage: NodeOutage?
var outageKind = NodeOutage.Kind.stop
var outageText: String?
/// A node that answers slower for a while (`--slow-node N@START-ENDxFACTOR`).
var slowdown: NodeSlowdown?
/// The usage text: the comment at the top of this file, printed for `--help` and for a bad flag.
let usage = """
    usage: placement-bench [--loads 0.25,0.5,0.75,1,1.25] [--seconds 300] [--warmup 60] [--time-scale 0.2]
                           [--zipf 1.1] [--order small-first|large-first] [--shift] [--only affinity,bound] [--seed 42]
                           [--tokens-per-second 20] [--prompt-tokens-per-second 2000] [--by-model] [--retry-refused]
                           [--log-dir DIR] [--log-level debug] [--dump-trace FILE] [--node-config full|bare]
                           [--runner-overhead-gb 0] [--eviction-order lru|ollama] [--load-fit-share-of-free 0.8]
                           [--uncounted-seconds-per-answer 0] [--ollama-num-parallel 2] [--ollama-max-loaded 2] [--max-loaded 3]
                           [--nodes 4] [--vram-gb 16]
                           [--shared-gpu-answers 2]
                           [--reported-duration-scale 1] [--answer-lengths fixed|varied] [--load-seconds-per-gb 1.5]
                           [--outage 1@120-180] [--outage-kind stop|hang] [--slow-node 1@120-240x4] [--context-share 0.3]
                       [--context-length 8192] [--num-ctx exact|atLeast]
           placement-bench --placement-cost 1,4,16,64   (CPU per placed request by farm size, no sockets)
    strategies for --only: round_robin, least_busy, affinity, bound (none: only --dump-trace)
    """
func exitWithUsage(_ problem: String?) -> Never {
    guard let problem else {
        print(usage)
        exit(0)
    }
    FileHandle.standardError.write(Data("placement-bench: \(problem)\n\(usage)\n".utf8))
    exit(2)
}
func number(_ value: String, for flag: String) -> Double {
    guard let number = Double(value), number.isFinite, number >= 0 else { exitWithUsage("\(flag) takes a number, not \(value)") }
    return number
}
func count(_ value: String, for flag: String) -> Int {
    guard let count = Int(value), count >= 1 else { exitWithUsage("\(flag) takes a whole number of at least 1, not \(value)") }
    return count
}
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--help" || flag == "-h" { exitWithUsage(nil) }
    if flag == "--shift" || flag == "--by-model" || flag == "--retry-refused" {
        if flag == "--shift" { shift = true } else if flag == "--retry-refused" { retryRefused = true } else { byModel = true }
        continue
    }
    let valueFlags: Set = [
        "--loads", "--seconds", "--warmup", "--time-scale", "--zipf", "--order", "--seed", "--tokens-per-second",
        "--prompt-tokens-per-second", "--only", "--dump-trace", "--log-dir", "--log-level", "--node-config", "--runner-overhead-gb",
        "--eviction-order", "--load-fit-share-of-free", "--uncounted-seconds-per-answer", "--shared-gpu-answers",
        "--ollama-num-parallel", "--ollama-max-loaded", "--max-loaded", "--reported-duration-scale", "--answer-lengths",
        "--load-seconds-per-gb", "--nodes", "--vram-gb",
        "--placement-cost",
        "--outage", "--outage-kind", "--slow-node", "--context-share", "--context-length", "--num-ctx",
    ]
    guard valueFlags.contains(flag) else { exitWithUsage("unknown flag \(flag)") }
    guard let value = arguments.popFirst() else { exitWithUsage("\(flag) needs a value") }
    switch flag {
    case "--placement-cost":
        let counts = value.split(separator: ",").compactMap { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ $0 >= 1 }) else { exitWithUsage("--placement-cost takes node counts, not \(value)") }
        await measurePlacementCost(nodeCounts: counts)
        exit(0)
    case "--loads": loads = value.split(separator: ",").map { number(String($0), for: flag) }
    case "--seconds": simulatedSeconds = number(value, for: flag)
    case "--warmup": warmupSeconds = number(value, for: flag)
    case "--time-scale": timeScale = number(value, for: flag)
    case "--zipf": zipf = number(value, for: flag)
    case "--order":
        guard value == "small-first" || value == "large-first" else { exitWithUsage("--order takes small-first or large-first") }
        largeFirst = value == "large-first"
    case "--seed":
        guard let parsed = UInt64(value) else { exitWithUsage("--seed takes a whole number, not \(value)") }
        seed = parsed
    case "--tokens-per-second": tokensPerSecond = number(value, for: flag)
    case "--prompt-tokens-per-second": promptTokensPerSecond = number(value, for: flag)
    case "--only":
        only = Set(value.split(separator: ",").map(String.init))
        // `none` runs no strategy: with `--dump-trace`, it only writes the traces.
        let known: Set = ["round_robin", "least_busy", "affinity", "bound", "none"]
        guard only!.isSubset(of: known) else { exitWithUsage("--only takes \(known.sorted().joined(separator: ", "))") }
    case "--dump-trace": traceDumpPath = value
    case "--log-dir":
        logDirectory = value
        if logLevel == "error" { logLevel = "info" }
    case "--log-level": logLevel = value
    case "--runner-overhead-gb": runnerOverheadGB = number(value, for: flag)
    case "--load-seconds-per-gb": loadSecondsPerGB = number(value, for: flag)
    case "--eviction-order":
        guard value == "lru" || value == "ollama" else { exitWithUsage("--eviction-order takes lru or ollama") }
        evictionOrder = value == "lru" ? .leastRecentlyUsed : .shortestKeepAliveThenDigest
    case "--load-fit-share-of-free":
        let share = number(value, for: flag)
        guard share > 0 && share <= 1 else { exitWithUsage("--load-fit-share-of-free takes a share in (0, 1], not \(value)") }
        loadFitShareOfFree = share
    case "--uncounted-seconds-per-answer": uncountedSecondsPerAnswer = number(value, for: flag)
    case "--reported-duration-scale":
        reportedDurationScale = number(value, for: flag)
        guard reportedDurationScale > 0 else { exitWithUsage("--reported-duration-scale takes a number above 0, not \(value)") }
    case "--shared-gpu-answers": sharedGPUAnswers = count(value, for: flag)
    case "--ollama-num-parallel": ollamaNumParallel = count(value, for: flag)
    case "--max-loaded": maxLoaded = count(value, for: flag)
    case "--nodes": nodeCount = count(value, for: flag)
    case "--vram-gb":
        vramGB = number(value, for: flag)
        if vramGB < 8 { exitWithUsage("--vram-gb takes at least 8, the largest model's size with room to run it") }
    case "--ollama-max-loaded": ollamaMaxLoaded = count(value, for: flag)
    case "--answer-lengths":
        guard let parsed = AnswerLengths(rawValue: value) else { exitWithUsage("--answer-lengths takes fixed or varied") }
        answerLengths = parsed
    case "--context-share":
        contextShare = number(value, for: flag)
        guard contextShare >= 0 && contextShare <= 1 else { exitWithUsage("--context-share takes a share in [0, 1], not \(value)") }
    case "--context-length":
        guard let parsed = Int(value), parsed >= 1 else { exitWithUsage("--context-length takes a whole number of tokens, not \(value)") }
        askedContextLength = parsed
    case "--num-ctx":
        guard value == "exact" || value == "atLeast" else { exitWithUsage("--num-ctx takes exact or atLeast, not \(value)") }
        numCtxPolicy = value
    case "--outage": outageText = value
    case "--slow-node":
        guard let parsed = NodeSlowdown(value) else {
            exitWithUsage("--slow-node takes NODE@START-ENDxFACTOR (FACTOR at least 1), not \(value)")
        }
        slowdown = parsed
    case "--outage-kind":
        guard let parsed = NodeOutage.Kind(rawValue: value) else { exitWithUsage("--outage-kind takes stop or hang") }
        outageKind = parsed
    case "--node-config":
        guard value == "full" || value == "bare" else { exitWithUsage("--node-config takes full or bare") }
        bareNodeConfig = value == "bare"
    default: exitWithUsage("unknown flag \(flag)")
    }
}

if let outageText {
    guard let parsed = NodeOutage(outageText, kind: outageKind), parsed.node < nodeCount, parsed.end < simulatedSeconds else {
        exitWithUsage(
            "--outage takes NODE@START-END: a node index below \(nodeCount) and simulated seconds within the run, not \(outageText)")
    }
    outage = parsed
}
if let slowdown, slowdown.node >= nodeCount || slowdown.end >= simulatedSeconds {
    exitWithUsage("--slow-node takes a node index below \(nodeCount) and simulated seconds within the run")
}
let slots = 2
let responseTokens = 64
let followUp = 0.3
let capacity = Double(nodeCount * slots) * tokensPerSecond / Double(responseTokens)
let answer = (0..<responseTokens).map { OllamaSimulatorWords.word($0) }.joined()
let popularity = largeFirst ? Array((0..<Trace.models.count).reversed()) : Array(0..<Trace.models.count)
// The shift turns the ranking over: the coldest models become the hottest.
let shifted = shift ? Array(popularity.reversed()) : nil
let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

struct Scenario {
    let label: String
    let strategy: String
    let allWarm: Bool
}

let scenarios = [
    Scenario(label: "round_robin", strategy: "round_robin", allWarm: false),
    Scenario(label: "least_busy", strategy: "least_busy", allWarm: false),
    Scenario(label: "affinity", strategy: "affinity", allWarm: false),
    Scenario(label: "all-warm bound", strategy: "bound", allWarm: true),
]

struct Sample {
    var at: Double
    var ttft: Double
}

struct Result: Sendable {
    var completed: [(at: Double, ttft: Double)] = []
    var refused = 0
    var refusalSeconds: [Double] = []
    var retryAfter: [Double] = []
    /// Every refusal: the model, and when a client that honours Retry-After would ask again.
    var refusals: [(model: String, retryAt: Double)] = []
    /// Every request's model, arrival and whether it was refused: what a retry at that moment would have met.
    var arrivals: [(model: String, at: Double, refused: Bool)] = []
    /// With `--retry-refused`: retries sent, and how many of them were refused again.
    var retriesSent = 0
    var retriesRefused = 0
    var failed = 0
    var coldLoads = 0
    var evictions = 0
    var loadsByModel: [String: Int] = [:]
    var models: [String] = []
    /// Each completed answer's time from its first token to its end: the host's pace. The simulator
    /// streams it in a fixed farm time, so a host too busy to keep up stretches it, and with it the
    /// queues; a row whose pace is over the nominal compares with no other.
    var streamingSeconds: [Double] = []
}

/// Gathers outcomes from the concurrent request tasks.
final class ResultCollector: Sendable {
    private let state = Mutex(Result())
    func record(_ update: (inout Result) -> Void) { state.withLock { update(&$0) } }
    var result: Result { state.withLock { $0 } }
}

/// Sends one request and reads its answer: the status, Retry-After, time to the first token and
/// whether the stream ended, in simulated seconds.
func send(_ body: [UInt8], to path: String, client: HTTPClient, port: Int, scale: Double) async -> (
    status: Int, retryAfter: Double?, firstToken: Double?, done: Bool, elapsed: Double
) {
    let sent = ContinuousClock.now
    var firstToken: Double?
    var done = false
    var status = 0
    var retryAfter: Double?
    do {
        let response = try await client.execute(
            HTTPClientRequest(
                method: "POST", host: "127.0.0.1", port: port, target: path,
                headers: ["Content-Type": "application/json"], body: body),
            timeouts: HTTPClientTimeouts(connect: .seconds(5), responseHead: .seconds(900), idleRead: .seconds(900)))
        status = response.status
        retryAfter = response.headers["Retry-After"].flatMap { Double($0) }
        var tail = ""
        var ended = false
        while let piece = try await response.next() {
            let text = String(decoding: piece, as: UTF8.self)
            if firstToken == nil && text.contains(#""content":""#) { firstToken = seconds(sent.duration(to: .now)) / scale }
            // An OpenAI stream ends with `[DONE]`, an Ollama one with a chunk that says `"done":true`.
            let joined = tail + text
            if joined.contains("[DONE]") || joined.contains(#""done":true"#) { ended = true }
            tail = String(joined.suffix(64))
        }
        done = status == 200 && ended
    } catch {}
    return (status, retryAfter, firstToken, done, seconds(sent.duration(to: .now)) / scale)
}

/// Whether each Retry-After told the truth, read off the trace: the first request for the same model
/// that arrived at or after the moment the refused client was told to come back (within 5 s of it)
/// stands for that retry. Returns how many such retries were refused again, and how many were checked.
func retriesRefusedAgain(_ result: Result) -> (refused: Int, checked: Int) {
    let byModel = Dictionary(grouping: result.arrivals, by: \.model).mapValues { $0.sorted { $0.at < $1.at } }
    var refused = 0
    var checked = 0
    for refusal in result.refusals {
        guard let retry = byModel[refusal.model]?.first(where: { $0.at >= refusal.retryAt }), retry.at < refusal.retryAt + 5 else {
            continue
        }
        checked += 1
        if retry.refused { refused += 1 }
    }
    return (refused, checked)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

@MainActor func run(_ scenario: Scenario, trace: Trace) async throws -> Result {
    var simulators: [OllamaSimulator] = []
    var configurations: [SimulatorConfiguration] = []
    for index in 0..<nodeCount {
        var configuration = SimulatorConfiguration(
            name: "gpu\(index)", models: Trace.models.map { SimulatedModel($0.name, sizeGB: $0.sizeGB) })
        configuration.timeScale = timeScale
        configuration.numParallel = ollamaNumParallel ?? slots
        configuration.loadBaseSeconds = 1
        configuration.loadSecondsPerGB = loadSecondsPerGB
        configuration.tokensPerSecond = tokensPerSecond
        configuration.responseTokens = answerLengths == .fixed ? responseTokens : AnswerLengths.longest(mean: responseTokens)
        configuration.promptTokensPerSecond = promptTokensPerSecond
        configuration.maxLoadedModels = scenario.allWarm ? Trace.models.count : ollamaMaxLoaded ?? maxLoaded
        configuration.vramBytes = scenario.allWarm ? nil : Int64(vramGB * 1e9)
        configuration.runnerOverheadBytes = Int64(runnerOverheadGB * 1e9)
        configuration.evictionOrder = evictionOrder
        configuration.loadFitShareOfFree = scenario.allWarm ? nil : loadFitShareOfFree
        configuration.keepAliveSeconds = scenario.allWarm ? -1 : 300
        configuration.uncountedSecondsPerAnswer = uncountedSecondsPerAnswer
        configuration.sharedGPUAnswers = sharedGPUAnswers
        configuration.reportedDurationScale = reportedDurationScale
        configurations.append(configuration)
        let simulator = OllamaSimulator(configuration)
        try simulator.start()
        if scenario.allWarm { for model in Trace.models { await simulator.preload(model.name) } }
        simulators.append(simulator)
    }
    var baselineLoads = 0
    for simulator in simulators { baselineLoads += await simulator.loadCount() }

    // A port the kernel just handed out (and that nothing else holds now), rather than a random guess.
    let portProbe = OllamaSimulator(SimulatorConfiguration(name: "port", models: []))
    let port = try portProbe.start()
    portProbe.stop()
    let nodes = simulators.enumerated().map { index, simulator in
        // The all-warm bound is not TensorWall's placement: it always gets the real limits.
        if bareNodeConfig && !scenario.allWarm { return #"{"name":"gpu\#(index)","url":"\#(simulator.url)"}"# }
        var node =
            #"{"name":"gpu\#(index)","url":"\#(simulator.url)","maxParallel":\#(slots),"maxLoadedModels":\#(scenario.allWarm ? Trace.models.count : maxLoaded)"#
        if !scenario.allWarm { node += #","vramGB":\#(vramGB)"# }
        return node + "}"
    }
    let strategy = scenario.allWarm ? "affinity" : scenario.strategy
    // Each strategy keeps TensorWall's defaults for the queue (maximum wait, shedding): what a user gets.
    let config = """
        {"listen":{"host":"127.0.0.1","port":\(port)},"strategy":"\(strategy)","numCtx":"\(numCtxPolicy)",
         "health":{"intervalMs":\(max(50, Int(2000 * timeScale))),"timeoutMs":1000},
         "nodes":[\(nodes.joined(separator: ","))]}
        """
    let configPath = NSTemporaryDirectory() + "placement-bench-\(port).json"
    try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = binDirectory.appendingPathComponent("tensorwall")
    process.arguments = ["--config", configPath, "--log-level", logLevel]
    if let logDirectory {
        let path = "\(logDirectory)/\(scenario.strategy)-\(Int(trace.rate * 100)).log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: path)
        process.standardOutput = process.standardError
    }
    // TensorWall's clock runs at the farm's speed, so its seconds (queue waits, decay, residency) are farm seconds.
    process.environment = ProcessInfo.processInfo.environment.merging(["TENSORWALL_TIME_SCALE": String(timeScale)]) { $1 }
    try process.run()
    defer {
        process.terminate()
        process.waitUntilExit()
        for simulator in simulators { simulator.stop() }
        try? FileManager.default.removeItem(atPath: configPath)
    }
    let client = HTTPClient(maxIdlePerHost: 1024)
    defer { client.shutdown() }
    for _ in 0..<200 {
        if let response = try? await client.execute(HTTPClientRequest(method: "GET", host: "127.0.0.1", port: port, target: "/status")),
            let body = try? JSONParser.parse(try await response.collect()), body["healthyNodes"] == .int(Int64(nodeCount))
        {
            break
        }
        try await Task.sleep(for: .milliseconds(50))
    }

    let results = ResultCollector()
    let scale = timeScale
    let retrying = retryRefused
    let start = ContinuousClock.now
    let staged = outage.map { outage in
        let (simulator, configuration, allWarm) = (simulators[outage.node], configurations[outage.node], scenario.allWarm)
        return Task { try await outage.stage(simulator, configuration: configuration, allWarm: allWarm, from: start, timeScale: scale) }
    }
    let slowed = slowdown.map { slowdown in
        let simulator = simulators[slowdown.node]
        return Task { try await slowdown.stage(simulator, from: start, timeScale: scale) }
    }
    await withTaskGroup(of: Void.self) { group in
        for request in trace.requests {
            let due = start + .nanoseconds(Int64(request.at * timeScale * 1e9))
            try? await Task.sleep(until: due, clock: .continuous)
            group.addTask {
                let (status, retryAfter, firstToken, done, elapsed) = await send(
                    request.body, to: request.path, client: client, port: port, scale: scale)
                if retrying, status == 429 || status == 503, let retryAfter {
                    try? await Task.sleep(for: .nanoseconds(Int64(retryAfter * scale * 1e9)))
                    let retry = await send(request.body, to: request.path, client: client, port: port, scale: scale)
                    results.record { result in
                        result.retriesSent += 1
                        if retry.status == 429 || retry.status == 503 { result.retriesRefused += 1 }
                    }
                }
                results.record { result in
                    result.arrivals.append((request.model, request.at, status == 429 || status == 503))
                    if done, let firstToken {
                        result.completed.append((request.at, firstToken))
                        // The pace as a nominal answer would stream it, from answers at least that long (scaled to
                        // it): what every answer spends besides its tokens, scaled up from a short one, read a
                        // quarter slow on a host that kept up.
                        if request.answerTokens >= responseTokens {
                            result.streamingSeconds.append(
                                (elapsed - firstToken) * Double(responseTokens - 1) / Double(request.answerTokens - 1))
                        }
                        result.models.append(request.model)
                    } else if status == 429 || status == 503 {
                        result.refused += 1
                        result.refusalSeconds.append(elapsed)
                        if let retryAfter {
                            result.retryAfter.append(retryAfter)
                            result.refusals.append((request.model, request.at + elapsed + retryAfter))
                        }
                    } else {
                        result.failed += 1
                    }
                }
            }
        }
    }
    var result = results.result
    var loads = 0
    try await slowed?.value
    if let staged {
        let restarted = try await staged.value
        simulators.append(restarted.node)
        baselineLoads += restarted.baselineLoads
    }
    for simulator in simulators {
        loads += await simulator.loadCount()
        result.evictions += await simulator.evictionCount()
        result.loadsByModel.merge(await simulator.loadsByModel()) { $0 + $1 }
    }
    result.coldLoads = loads - baselineLoads
    return result
}

let order = largeFirst ? "large-first (the hottest model is the 7.4 GB one)" : "small-first (the hottest model, 2 GB, fits on every node)"
print(
    "placement-bench: \(Int(simulatedSeconds)) simulated s per run (first \(Int(warmupSeconds)) s reported apart), time scale \(timeScale), seed \(seed)"
)
print(
    "farm: \(nodeCount) nodes × \(Int(vramGB)) GB, at most \(maxLoaded) models loaded per node, \(slots) parallel slots per model; \(Trace.models.count) models of 2-7.4 GB"
        + (loadSecondsPerGB != 1.5 ? "; a load takes 1 s + \(loadSecondsPerGB) s per GB" : "")
        + (runnerOverheadGB > 0 ? "; each loaded runner takes \(runnerOverheadGB) GB beyond its weights" : "")
        + (bareNodeConfig ? "; TensorWall's cluster.json gives each node's name and URL only" : "")
        + (evictionOrder == .leastRecentlyUsed ? "" : "; a node unloads by Ollama's order (shortest keep-alive, then digest)")
        + (loadFitShareOfFree.map { "; with other models loaded, a load must fit in \(Int($0 * 100)) % of the free VRAM" } ?? "")
        + (ollamaNumParallel.map { "; Ollama runs \($0) slot(s) per model where cluster.json says \(slots)" } ?? "")
        + (ollamaMaxLoaded.map { "; Ollama keeps \($0) model(s) loaded where cluster.json says \(maxLoaded)" } ?? "")
        + (sharedGPUAnswers.map { "; a node's GPU runs \($0) answers at full speed at once, whatever their model, and more share it" } ?? "")
        + (reportedDurationScale != 1 ? "; nodes report durations × \(reportedDurationScale)" : "")
        + (uncountedSecondsPerAnswer > 0 ? "; every answer spends \(uncountedSecondsPerAnswer) s only total_duration counts" : "")
        + (contextShare > 0
            ? "; \(Int(contextShare * 100)) % of conversations come from an Ollama client on /api/chat that sets num_ctx \(askedContextLength)"
                + (numCtxPolicy == "exact" ? "" : "; TensorWall's numCtx is \(numCtxPolicy)")
            : "")
)
print(
    "popularity: Zipf \(zipf), \(order)\(shift ? ", turned over halfway through" : ""); \(Int(followUp * 100)) % follow-up turns; \(responseTokens)-token answers\(answerLengths == .varied ? " on average (exponential lengths, 8 to \(AnswerLengths.longest(mean: responseTokens)))" : "") at \(Int(tokensPerSecond)) tokens/s"
)
if let outage { print("outage: \(outage.description)") }
if let slowdown { print("slow node: \(slowdown.description)") }
print(
    String(
        format:
            "token capacity: %.2f requests/s (%d nodes × %d slots × %.0f tokens/s ÷ %d tokens); prompts of ~1,000 tokens at %.0f tokens/s come on top",
        capacity, nodeCount, slots, tokensPerSecond, responseTokens, promptTokensPerSecond))
/// What an answer takes from its first token to its end on a host that keeps up with the simulation.
let nominalStreamingSeconds = Double(responseTokens - 1) / tokensPerSecond
print("")
print(
    "| load | req/s | strategy | completed | refused (how many within 1 s, median Retry-After, retries at Retry-After refused again) | failed | cold loads | evictions | first minute TTFT p50 / p95 / p99 (s) | after warm-up TTFT p50 / p95 / p99 (s) | p95 per minute (s) | host pace: streaming p50 (s) |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for load in loads {
    let rate = load * capacity
    let trace = Trace(
        seed: seed, seconds: simulatedSeconds, requestsPerSecond: rate, answer: answer, answerTokens: responseTokens,
        answerLengths: answerLengths, zipf: zipf, followUp: followUp,
        popularity: popularity, shifted: shifted, contextShare: contextShare, contextLength: askedContextLength)
    if let path = traceDumpPath {
        let lines = trace.requests.map {
            "\($0.at) \($0.model) \($0.isFirstTurn ? 1 : 0)" + (answerLengths == .fixed ? "" : " \($0.answerTokens)")
        }
        try lines.joined(separator: "\n").write(toFile: "\(path).\(Int(load * 100))", atomically: true, encoding: .utf8)
    }
    for scenario in scenarios where only?.contains(scenario.strategy) ?? true {
        let result = try await run(scenario, trace: trace)
        let early = result.completed.filter { $0.at < warmupSeconds }.map(\.ttft)
        let late = result.completed.filter { $0.at >= warmupSeconds }.map(\.ttft)
        let minutes = Int((simulatedSeconds / 60).rounded(.up))
        let perMinute = (0..<minutes).map { minute in
            percentile(result.completed.filter { Int($0.at / 60) == minute }.map(\.ttft), 0.95)
        }
        let retries = retryRefused ? (refused: result.retriesRefused, checked: result.retriesSent) : retriesRefusedAgain(result)
        let refused =
            result.refused == 0
            ? "0"
            : String(
                format: "%d (%d within 1 s, %.0f, %d of %d)", result.refused, result.refusalSeconds.filter { $0 < 1 }.count,
                result.retryAfter.isEmpty ? .nan : percentile(result.retryAfter, 0.5), retries.refused, retries.checked)
        print(
            String(format: "| %.0f %% | %.2f | ", load * 100, rate)
                + "\(scenario.label) | \(result.completed.count) | \(refused) | \(result.failed) | "
                + "\(result.coldLoads) | \(result.evictions) | "
                + String(format: "%.2f / %.2f / %.2f | ", percentile(early, 0.5), percentile(early, 0.95), percentile(early, 0.99))
                + String(format: "%.2f / %.2f / %.2f | ", percentile(late, 0.5), percentile(late, 0.95), percentile(late, 0.99))
                + perMinute.map { String(format: "%.1f", $0) }.joined(separator: " ") + " | "
                + String(format: "%.2f (nominal %.2f) |", percentile(result.streamingSeconds, 0.5), nominalStreamingSeconds))
        if byModel {
            for model in Trace.models.map(\.name) {
                let ttfts = zip(result.completed, result.models).filter { $0.1 == model && $0.0.at >= warmupSeconds }.map(\.0.ttft)
                print(
                    String(
                        format: "    %-16@ %4d requests after warm-up, %3d cold loads, TTFT p50 %.2f p95 %.2f", model as NSString,
                        ttfts.count,
                        result.loadsByModel[model] ?? 0, percentile(ttfts, 0.5), percentile(ttfts, 0.95)))
            }
        }
        fflush(nil)
    }
}
