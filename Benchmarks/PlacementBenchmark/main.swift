import Balancer
import Foundation
import HTTP1
import OllamaSimulator
import Synchronization

// Runs every placement strategy on the same trace over a simulated farm and prints a table.
//   placement-bench [--seconds 900] [--time-scale 0.03] [--seed 42]
// Times in the table are simulated seconds (real seconds divided by the time scale).

var simulatedSeconds = 900.0
var timeScale = 0.03
var seed: UInt64 = 42
var only: Set<String>?
var slowest = 0
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let value = arguments.popFirst() else { fatalError("\(flag) needs a value") }
    switch flag {
    case "--seconds": simulatedSeconds = Double(value)!
    case "--time-scale": timeScale = Double(value)!
    case "--seed": seed = UInt64(value)!
    case "--only": only = Set(value.split(separator: ",").map(String.init))
    case "--show-slowest": slowest = Int(value)!
    default: fatalError("unknown flag \(flag)")
    }
}

let nodeCount = 4
let vramGB = 14.0
let responseTokens = 40
let answer = (0..<responseTokens).map { OllamaSimulatorWords.word($0) }.joined()
let trace = Trace(seed: seed, seconds: simulatedSeconds, conversationsPerSecond: 0.5, answer: answer)
let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()

struct Scenario {
    let label: String
    let strategy: String
    let allWarm: Bool
}

let scenarios = [
    Scenario(label: "round_robin", strategy: "round_robin", allWarm: false),
    Scenario(label: "weighted", strategy: "weighted", allWarm: false),
    Scenario(label: "least_busy", strategy: "least_busy", allWarm: false),
    Scenario(label: "affinity", strategy: "affinity", allWarm: false),
    Scenario(label: "all-warm bound (affinity, every model loaded everywhere, no VRAM limit)", strategy: "affinity", allWarm: true),
]

struct Result: Sendable {
    var completed = 0
    var failed = 0
    var coldLoads = 0
    var ttft: [Double] = []
    /// (arrival in simulated s, model, TTFT) for --show-slowest.
    var samples: [(at: Double, model: String, ttft: Double)] = []
}

/// Gathers outcomes from the concurrent request tasks.
final class ResultCollector: Sendable {
    private let state = Mutex(Result())
    func record(_ update: (inout Result) -> Void) { state.withLock { update(&$0) } }
    var result: Result { state.withLock { $0 } }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
}

func run(_ scenario: Scenario, trace: Trace, timeScale: Double, binDirectory: URL) async throws -> Result {
    var simulators: [OllamaSimulator] = []
    for index in 0..<nodeCount {
        var configuration = SimulatorConfiguration(
            name: "gpu\(index)", models: Trace.models.map { SimulatedModel($0.name, sizeGB: $0.sizeGB) })
        configuration.timeScale = timeScale
        configuration.numParallel = 2
        configuration.loadBaseSeconds = 1
        configuration.loadSecondsPerGB = 1.5
        configuration.tokensPerSecond = 40
        configuration.responseTokens = responseTokens
        configuration.promptTokensPerSecond = 2000
        configuration.maxLoadedModels = scenario.allWarm ? Trace.models.count : 3
        configuration.vramBytes = scenario.allWarm ? nil : Int64(vramGB * 1e9)
        configuration.keepAliveSeconds = scenario.allWarm ? -1 : 300
        let simulator = OllamaSimulator(configuration)
        try simulator.start()
        if scenario.allWarm { for model in Trace.models { await simulator.preload(model.name) } }
        simulators.append(simulator)
    }
    var baseline = 0
    for simulator in simulators { baseline += await simulator.loadCount() }

    let port = 20_000 + Int.random(in: 0..<20_000)
    let nodes = simulators.enumerated().map { index, simulator in
        var node =
            #"{"name":"gpu\#(index)","url":"\#(simulator.url)","maxParallel":2,"maxLoadedModels":\#(scenario.allWarm ? Trace.models.count : 3)"#
        if !scenario.allWarm { node += #","vramGB":\#(vramGB)"# }
        return node + "}"
    }
    let config = """
        {"listen":{"host":"127.0.0.1","port":\(port)},"strategy":"\(scenario.strategy)",
         "health":{"intervalMs":100,"timeoutMs":1000},"queue":{"maxLength":10000,"maxWaitMs":600000},
         "nodes":[\(nodes.joined(separator: ","))]}
        """
    let configPath = NSTemporaryDirectory() + "placement-bench-\(port).json"
    try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = binDirectory.appendingPathComponent("tensorwall")
    process.arguments = ["--config", configPath, "--log-level", "error"]
    try process.run()
    defer {
        process.terminate()
        process.waitUntilExit()
        for simulator in simulators { simulator.stop() }
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
    let start = ContinuousClock.now
    await withTaskGroup(of: Void.self) { group in
        for request in trace.requests {
            let due = start + .nanoseconds(Int64(request.at * timeScale * 1e9))
            try? await Task.sleep(until: due, clock: .continuous)
            group.addTask {
                let sent = ContinuousClock.now
                var firstToken: Double?
                var done = false
                do {
                    let response = try await client.execute(
                        HTTPClientRequest(
                            method: "POST", host: "127.0.0.1", port: port, target: "/v1/chat/completions",
                            headers: ["Content-Type": "application/json"], body: request.body),
                        timeouts: HTTPClientTimeouts(connect: .seconds(5), responseHead: .seconds(600), idleRead: .seconds(600)))
                    var text = ""
                    while let piece = try await response.next() {
                        if firstToken == nil && String(decoding: piece, as: UTF8.self).contains(#""content":""#) {
                            let elapsed = sent.duration(to: .now)
                            firstToken = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / scale
                        }
                        text += String(decoding: piece, as: UTF8.self)
                        if text.count > 64 { text = String(text.suffix(64)) }
                    }
                    done = response.status == 200 && text.contains("[DONE]")
                } catch {}
                results.record { result in
                    if done, let firstToken {
                        result.completed += 1
                        result.ttft.append(firstToken)
                        result.samples.append((request.at, request.model, firstToken))
                    } else {
                        result.failed += 1
                    }
                }
            }
        }
    }
    var result = results.result
    var loads = 0
    for simulator in simulators { loads += await simulator.loadCount() }
    result.coldLoads = loads - baseline
    return result
}

print("placement-bench: \(trace.requests.count) requests over \(Int(simulatedSeconds)) simulated s, time scale \(timeScale), seed \(seed)")
print(
    "farm: \(nodeCount) nodes, \(vramGB) GB VRAM and at most 3 models each, 2 parallel slots per model; \(Trace.models.count) models of 2-9 GB, Zipf 1.1"
)
print(
    "cold load = 1 s + 1.5 s/GB (4-14.5 s); answers \(responseTokens) tokens at 40 tokens/s; prompts about 1,000 tokens at 2,000 tokens/s")
print("")
print("| strategy | completed | failed | cold loads | TTFT p50 (s) | TTFT p95 (s) |")
print("|---|---|---|---|---|---|")
var rows: [(String, Result)] = []
for scenario in scenarios where only?.contains(scenario.strategy) ?? true {
    let result = try await run(scenario, trace: trace, timeScale: timeScale, binDirectory: binDirectory)
    rows.append((scenario.label, result))
    print(
        "| \(scenario.label) | \(result.completed) | \(result.failed) | \(result.coldLoads) | "
            + String(format: "%.2f | %.2f |", percentile(result.ttft, 0.5), percentile(result.ttft, 0.95)))
    for sample in result.samples.sorted(by: { $0.ttft > $1.ttft }).prefix(slowest) {
        print(String(format: "    at %7.1f s  TTFT %6.2f s  ", sample.at, sample.ttft) + sample.model)
    }
    fflush(nil)
}
guard rows.count == scenarios.count else { exit(0) }
let roundRobin = rows[0].1
let affinity = rows[3].1
let bound = rows[4].1
print("")
print(
    String(
        format: "affinity vs round_robin cold loads: %.2f (target <= 0.20); affinity p95 TTFT vs all-warm: %.2fx (target <= 1.5x)",
        Double(affinity.coldLoads) / Double(max(1, roundRobin.coldLoads)), percentile(affinity.ttft, 0.95) / percentile(bound.ttft, 0.95)))
