import Balancer
import Foundation
import HTTP1
import Health
import Synchronization
import WireFormats

// Load generator for Benchmarks/proxy_vs_nginx.sh and Benchmarks/streams.sh.
//   proxy-bench rate PORT PATH BODY RATE SECONDS [KEY]   open-loop at RATE requests/s; latency from the scheduled send time
//   proxy-bench streams PORT STREAMS MODEL [KEY]         STREAMS concurrent /api/chat streams; per-token delay = arrival
//                                                        time minus the node's created_at stamp on that chunk
// Prints one line of JSON.

func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}

final class Samples: Sendable {
    private let state = Mutex<(values: [Double], failures: Int)>(([], 0))
    func add(_ value: Double) { state.withLock { $0.values.append(value) } }
    func add(_ values: [Double]) { state.withLock { $0.values.append(contentsOf: values) } }
    func fail() { state.withLock { $0.failures += 1 } }
    var snapshot: (values: [Double], failures: Int) { state.withLock { $0 } }
}

func headers(_ key: String?) -> HTTPHeaders {
    var headers: HTTPHeaders = ["Content-Type": "application/json"]
    if let key { headers.add("Authorization", "Bearer \(key)") }
    return headers
}

func wallNow() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else { fatalError("usage: proxy-bench rate|streams ...") }
let client = HTTPClient(maxIdlePerHost: 8192)
let timeouts = HTTPClientTimeouts(connect: .seconds(10), responseHead: .seconds(60), idleRead: .seconds(60))

/// One POST to the target on loopback; the answer's body is the caller's to read.
func post(port: Int, path: String, body: [UInt8], key: String?) async throws -> HTTPClientResponse {
    try await client.execute(
        HTTPClientRequest(method: "POST", host: "127.0.0.1", port: port, target: path, headers: headers(key), body: body),
        timeouts: timeouts)
}

switch mode {
case "rate":
    let port = Int(arguments[1])!
    let path = arguments[2]
    let body = Array(arguments[3].utf8)
    let rate = Double(arguments[4])!
    let duration = Double(arguments[5])!
    let key = arguments.count > 6 ? arguments[6] : nil
    let samples = Samples()
    let start = ContinuousClock.now + .milliseconds(100)
    let total = Int(rate * duration)
    /// When request `index` is scheduled to be sent.
    func due(_ index: Int) -> ContinuousClock.Instant { start + .nanoseconds(Int64(Double(index) / rate * 1e9)) }
    // Run where the sockets' events arrive and wake once per batch of due requests, not once per
    // request (a timer per request on dispatch's threads competed with the proxy being measured).
    await withTaskExecutorPreference(EventLoops.firstLoopExecutor) {
        await withDiscardingTaskGroup { group in
            var index = 0
            while index < total {
                if due(index) > .now { try? await Task.sleep(until: due(index), tolerance: .microseconds(100), clock: .continuous) }
                let now = ContinuousClock.now
                while index < total, due(index) <= now {
                    let scheduled = due(index)
                    index += 1
                    group.addTask {
                        do {
                            let response = try await post(port: port, path: path, body: body, key: key)
                            _ = try await response.collect()
                            guard response.status == 200 else { return samples.fail() }
                            samples.add(seconds(scheduled.duration(to: .now)) * 1000)  // from the scheduled time: no coordinated omission
                        } catch {
                            samples.fail()
                        }
                    }
                }
            }
        }
    }
    let result = samples.snapshot
    let sorted = result.values.sorted()
    print(
        #"{"requests":\#(total),"failures":\#(result.failures),"p50_ms":\#(percentile(sorted, 0.5)),"p99_ms":\#(percentile(sorted, 0.99)),"max_ms":\#(sorted.last ?? .nan)}"#
    )

case "streams":
    let port = Int(arguments[1])!
    let streams = Int(arguments[2])!
    let model = arguments[3]
    let key = arguments.count > 4 ? arguments[4] : nil
    let body = Array(#"{"model":"\#(model)","messages":[{"role":"user","content":"stream please"}],"stream":true}"#.utf8)
    let samples = Samples()
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<streams {
            group.addTask {
                // Spread the starts over a second, as real clients arrive.
                try? await Task.sleep(for: .microseconds(index * 1_000_000 / max(1, streams)))
                var delays: [Double] = []
                do {
                    let response = try await post(port: port, path: "/api/chat", body: body, key: key)
                    guard response.status == 200 else { return samples.fail() }
                    var pending = [UInt8]()
                    var sawDone = false
                    while let piece = try await response.next() {
                        let arrived = wallNow()
                        pending += piece
                        while let newline = pending.firstIndex(of: 10) {
                            let line = Array(pending[..<newline])
                            pending.removeSubrange(...newline)
                            guard let chunk = try? JSONParser.parse(line) else { continue }
                            if chunk["done"] == true {
                                sawDone = true
                                continue
                            }
                            if let stamp = chunk["created_at"]?.stringValue.flatMap(RFC3339.parse) {
                                delays.append((arrived - stamp) * 1000)
                            }
                        }
                    }
                    guard sawDone else { return samples.fail() }
                    samples.add(delays)
                } catch {
                    samples.fail()
                }
            }
        }
    }
    let result = samples.snapshot
    let sorted = result.values.sorted()
    print(
        #"{"streams":\#(streams),"failed_streams":\#(result.failures),"tokens":\#(result.values.count),"p50_ms":\#(percentile(sorted, 0.5)),"p99_ms":\#(percentile(sorted, 0.99))}"#
    )

default:
    fatalError("unknown mode \(mode)")
}
client.shutdown()
