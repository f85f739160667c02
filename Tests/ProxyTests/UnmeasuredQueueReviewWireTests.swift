import Balancer
import HTTP1
import OllamaSimulator
import Testing

@testable import Proxy

/// Requests that queued before their model's first answer was timed, on a route with no other
/// target: weighed once it is, those past the shed point are told when to come back, not answered
/// 503 after the whole maximum.
@Suite(.stopsFarms) struct UnmeasuredQueueReviewWireTests {
    @Test func requestsQueuedBeforeTheFirstAnswerAreToldWhenToComeBackOnceItIsMeasured() async throws {
        // A warm copy no answer has been timed on, one request at a time, 0.8 s an answer; 12 sent at
        // once all queue unweighed (a guess must not refuse). The queue's last would wait 9.6 s, past
        // the 8 s maximum: those past the 6.4 s shed point are refused once the first answer is timed.
        let farm = try await TestFarm.start([
            .init(models: ["llama3.1:70b"], preload: ["llama3.1:70b"], maxParallel: 1, tokensPerSecond: 0.01)
        ]) { config in
            config.queue.maxWaitMs = 8000
        }
        try await farm.waitUntilAllHealthy()
        let sent = ContinuousClock.now
        typealias Answer = (status: Int, retryAfter: Int?, after: Duration, placesKept: Int64?)
        let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
            for index in 0..<12 {
                group.addTask {
                    let answer = try await farm.json(
                        "POST", "/v1/chat/completions",
                        body: #"{"model":"llama3.1:70b","messages":[{"role":"user","content":"question \#(index)"}]}"#)
                    let after = sent.duration(to: .now)
                    // Told when to come back, its place is kept for then (read before the promise can lapse).
                    let kept =
                        answer.status == 429
                        ? try await farm.json("GET", "/status").body["placesKeptForRetries"]?["llama3.1:70b"]?.intValue : nil
                    return (answer.status, answer.headers["Retry-After"].flatMap { Int($0) }, after, kept)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0.status == 200 || $0.status == 429 }, "\(answers)")
        let refused = answers.filter { $0.status == 429 }
        #expect(refused.count >= 3, "\(answers)")
        #expect(refused.allSatisfy { $0.after < .seconds(5) && ($0.retryAfter ?? 0) >= 1 }, "\(answers)")
        #expect(refused.allSatisfy { ($0.placesKept ?? 0) >= 1 }, "\(answers)")
        #expect(answers.filter { $0.status == 200 }.count >= 6, "\(answers)")
    }

    @Test func requestsQueuedBehindTheFirstLoadWaitForIt() async throws {
        // A cold start: a 4 s load, then one request at a time at 0.8 s each. Six sent at once queue
        // behind the load; once the first answer is timed the last four look past the 6.4 s shed point
        // of the 8 s maximum, but the wait behind a load may run past the maximum, and all six are served.
        let farm = try await TestFarm.start([.init(maxParallel: 1, loadSecondsPerGB: 2000, tokensPerSecond: 0.01)]) { config in
            config.queue.maxWaitMs = 8000
        }
        try await farm.waitUntilAllHealthy()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<6 {
                group.addTask {
                    try await farm.json(
                        "POST", "/v1/chat/completions",
                        body: #"{"model":"llama3.2","messages":[{"role":"user","content":"question \#(index)"}]}"#
                    ).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 6), "\(statuses)")
        #expect(await farm.nodes[0].loadCount() == 1)
    }
}
