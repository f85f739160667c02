import Balancer
import Testing

@testable import Proxy

/// The status page's history: a fixed ring of samples with per-interval rates and percentiles.
@Suite(.stopsFarms) struct FarmHistoryTests {
    @Test func samplesCarryIntervalRatesAndPercentilesAndTheRingStaysBounded() {
        let history = FarmHistory()
        for index in 1...10 { history.record(ttftSeconds: Double(index) / 10) }  // 0.1 ... 1.0 s
        history.record(ttftSeconds: nil)  // an error: counted, no first token
        history.sample(at: 1000, snapshots: [], queued: [ModelName("llama3.2")!: 3], elapsed: 5)
        let first = history.samples[0]
        #expect(first.requestsPerSecond == 11.0 / 5)
        #expect(first.ttftP50Ms == 500)
        #expect(first.ttftP95Ms == 1000)
        #expect(first.queued == ["llama3.2:latest": 3])
        history.sample(at: 1005, snapshots: [], queued: [:], elapsed: 5)
        #expect(history.samples[1].requestsPerSecond == 0 && history.samples[1].ttftP50Ms == nil)
        for index in 0..<(FarmHistory.capacity + 10) { history.sample(at: 2000 + Double(index), snapshots: [], queued: [:], elapsed: 5) }
        let samples = history.samples
        #expect(samples.count == FarmHistory.capacity)
        #expect(samples.first?.at == 2010 && samples.last?.at == 2000 + Double(FarmHistory.capacity + 9))  // oldest first
    }
}
