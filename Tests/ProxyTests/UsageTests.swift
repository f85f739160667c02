import Balancer
import Foundation
import HTTP1
import Testing
import WireFormats

@testable import Proxy

/// Usage by key, model and node: in `/metrics`, in `/status` and in the usage log.
@Suite(.stopsFarms) struct UsageTests {
    /// The value of the sample whose line starts with `prefix` (name and labels), or nil.
    func sample(_ metrics: String, _ prefix: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func metricsCountWhatWasSent() async throws {
        let logPath = NSTemporaryDirectory() + "tensorwall-usage-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.usageLog = logPath }
        try await farm.waitUntilAllHealthy()
        for _ in 0..<3 { #expect(try await farm.chat().status == 200) }
        let streamed = #"{"model":"llama3.2","messages":[{"role":"user","content":"Hello!"}],"stream":true}"#
        #expect(try await farm.text("POST", "/v1/chat/completions", body: streamed).body.hasSuffix("data: [DONE]\n\n"))
        #expect(try await farm.chat("missing-model").status == 404)
        _ = try await farm.text("POST", "/api/generate", body: #"{"model":"llama3.2","prompt":"x","stream":false}"#)

        // A request is counted just after its last byte, so the last may not be yet.
        let served = #"tensorwall_requests_total{key="tests",model="llama3.2",node="node0",status="200"}"#
        var metrics = try await farm.text("GET", "/metrics", headers: [:])
        #expect(
            await farm.eventually {
                if sample(metrics.body, served) == 5 { return true }
                metrics = (try? await farm.text("GET", "/metrics", headers: [:])) ?? metrics
                return false
            })
        #expect(metrics.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let body = metrics.body
        #expect(sample(body, #"tensorwall_requests_total{key="tests",model="(unknown)",node="-",status="404"}"#) == 1)
        #expect(sample(body, #"tensorwall_request_errors_total{key="tests",model="(unknown)",node="-"}"#) == 1)
        let completion = try #require(sample(body, #"tensorwall_completion_tokens_total{key="tests",model="llama3.2",node="node0"}"#))
        #expect(completion == 5 * 8)  // the simulator answers 8 tokens
        #expect(sample(body, #"tensorwall_time_to_first_token_seconds_count{model="llama3.2",node="node0"}"#) == 5)
        #expect(sample(body, #"tensorwall_request_duration_seconds_bucket{model="llama3.2",node="node0",le="+Inf"}"#) == 5)
        #expect(sample(body, #"tensorwall_node_healthy{node="node0"}"#) == 1)
        #expect(!body.contains(TestFarm.key))

        let status = try await farm.json("GET", "/status").body
        let row = status["usage"]?.arrayValue?.first { $0["model"] == "llama3.2" && $0["node"] == "node0" }
        #expect(row?["requests"] == 5)
        #expect(status["recent"]?.arrayValue?.count == 6)

        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        let first = try JSONParser.parse(Array(lines[0].utf8))
        #expect(first["key"] == "tests" && first["model"] == "llama3.2" && first["status"] == 200)
        #expect(first["completion_tokens"] == 8)
        #expect(first["ttft_ms"]?.doubleValue != nil)
    }

    /// Clients choose the model names they send: names no model was found for are counted as one,
    /// so a client sending a new name every time cannot grow `/status` and `/metrics` (and memory)
    /// by an entry a request. The access log still names each one.
    @Test func namesNoModelWasFoundForAreCountedAsOne() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], logs: logs)
        try await farm.waitUntilAllHealthy()
        for index in 0..<20 { #expect(try await farm.chat("missing-\(index)").status == 404) }
        #expect(try await farm.chat().status == 200)
        var metrics = ""
        #expect(
            await farm.eventually {
                metrics = (try? await farm.text("GET", "/metrics", headers: [:]).body) ?? ""
                return sample(metrics, #"tensorwall_requests_total{key="tests",model="llama3.2",node="node0",status="200"}"#) == 1
            })
        #expect(sample(metrics, #"tensorwall_requests_total{key="tests",model="(unknown)",node="-",status="404"}"#) == 20)
        #expect(!metrics.contains("missing-"))
        let usage = try #require(try await farm.json("GET", "/status").body["usage"]?.arrayValue)
        #expect(usage.map { $0["model"]?.stringValue ?? "" }.sorted() == ["(unknown)", "llama3.2"])
        #expect(logs.text.contains("model=missing-19 node=- status=404"))
    }

    @Test func pastTheirCapacityTheLedgerCountsFurtherNamesAsOther() {
        let ledger = UsageLedger()
        let extra = 5
        for index in 0..<(UsageLedger.modelLabelCapacity + extra) {
            ledger.record(
                .init(
                    at: 0, apiKey: "k", model: "m\(index)", node: "-", status: 400, stream: false, firstTokenSeconds: nil,
                    durationSeconds: 0.001, promptTokens: 0, completionTokens: 0))
        }
        let totals = ledger.snapshot.totals
        #expect(totals.count == UsageLedger.modelLabelCapacity + 1)
        #expect(totals[.init(apiKey: "k", model: UsageLedger.otherModelsLabel, node: "-")]?.requests == extra)
        #expect(totals[.init(apiKey: "k", model: "m0", node: "-")]?.requests == 1)
        #expect(ledger.snapshot.duration.count == UsageLedger.modelLabelCapacity + 1)
    }

    /// A model name is the client's: one holding a line break must not write a line of its own.
    @Test func aModelNameCannotForgeALogLine() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], logs: logs)
        try await farm.waitUntilAllHealthy()
        let forged = #"{"model":"x\ninfo request key=admin model=forged\r\u001b[2J","messages":[{"role":"user","content":"hi"}]}"#
        #expect(try await farm.json("POST", "/v1/chat/completions", body: forged).status == 400)
        #expect(await farm.eventually { logs.text.contains(#"model="x\ninfo request key=admin model=forged\r\u{1B}[2J" node=-"#) })
        #expect(!logs.text.contains("\ninfo request key=admin"))
        #expect(!logs.text.contains("\u{1B}"))
    }

    @Test func aModelNameCannotAddAFieldToTheLogLine() async throws {
        let logs = LogCapture()
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])], logs: logs)
        try await farm.waitUntilAllHealthy()
        let forged = #"{"model":"x node=gpu9 status=200 say=\"hi\\","messages":[{"role":"user","content":"hi"}]}"#
        let answer = try await farm.json("POST", "/v1/chat/completions", body: forged)
        #expect(answer.status == 400, "\(answer.body)")
        #expect(await farm.eventually { logs.text.contains(#"model="x node=gpu9 status=200 say=\"hi\\" node=- status=400"#) })
        let served = #"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#
        #expect(try await farm.json("POST", "/v1/chat/completions", body: served).status == 200)
        #expect(await farm.eventually { logs.text.contains("model=llama3.2 node=node0 status=200") })
    }

    @Test func prometheusLabelValuesAreEscaped() {
        var text = PrometheusText()
        text.sample("m", [("model", "a\"b\\c\nd")], 1.5)
        #expect(text.output == "m{model=\"a\\\"b\\\\c\\nd\"} 1.5\n")
    }
}

@Suite(.stopsFarms) struct StatusPageTests {
    @Test func browsersGetTheSelfContainedPageAndScriptsGetJSON() async throws {
        let farm = try await TestFarm.start([.init()])
        let browser = try await farm.text(
            "GET", "/status", headers: ["Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"])
        #expect(browser.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(browser.body.contains("<title>TensorWall</title>"))
        #expect(!browser.body.contains("src=\"http") && !browser.body.contains("href=\"http"))  // no external assets
        let dashboard = try await farm.text("GET", "/dashboard", headers: [:])
        #expect(dashboard.body == browser.body)
        let script = try await farm.json("GET", "/status", headers: ["Accept": "application/json"])
        #expect(script.body["nodes"]?.arrayValue?.count == 1)
        #expect(try await farm.json("GET", "/status", headers: [:]).body["nodes"] != nil)
    }
}
