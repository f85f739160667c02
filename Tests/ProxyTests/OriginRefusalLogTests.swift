import Testing

@testable import Proxy

/// Browser refusals logged at most once an interval, with a count of the ones in between.
@Suite struct OriginRefusalLogTests {
    @Test func oneLineAnIntervalCountingTheRefusalsBetween() throws {
        let log = OriginRefusalLog()
        let first = try #require(log.line(origin: "https://a.example", now: 100))
        #expect(first.hasPrefix("refused a browser request from the page at origin https://a.example: list it in allowedOrigins"))
        #expect(log.line(origin: "https://b.example", now: 101) == nil)
        #expect(log.line(origin: "https://c.example", now: 109.9) == nil)
        let next = try #require(log.line(origin: "https://d.example", now: 110))
        #expect(next.contains("origin https://d.example (and 2 more since the last such line)"))
        #expect(log.total == 4)
    }

    @Test func aLongOriginIsCutInTheLine() throws {
        let log = OriginRefusalLog()
        let line = try #require(log.line(origin: "https://" + String(repeating: "x", count: 5000), now: 0))
        #expect(line.count < 400)
        #expect(line.contains("…: list it"))
    }
}
