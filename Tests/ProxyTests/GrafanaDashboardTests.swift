import Balancer
import Foundation
import Testing
import WireFormats

@testable import Proxy

/// `docs/grafana-dashboard.json` is valid JSON whose every panel query names a series that a
/// running TensorWall serves on `/metrics`.
@Suite(.stopsFarms) struct GrafanaDashboardTests {
    static let dashboardPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/grafana-dashboard.json").path

    @Test func everyPanelQueryNamesASeriesMetricsServes() async throws {
        let data = try #require(FileManager.default.contents(atPath: Self.dashboardPath))
        let dashboard = try JSONParser.parse([UInt8](data))
        let panels = try #require(dashboard["panels"]?.arrayValue)
        #expect(panels.count >= 10)
        let expressions = panels.flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue }
        #expect(expressions.count >= panels.count)

        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])]) { $0.nodes[0].vramGB = 16 }
        try await farm.waitUntilAllHealthy()
        #expect(try await farm.chat().status == 200)
        let metrics = try await farm.text("GET", "/metrics", headers: [:]).body
        let served = Set(
            metrics.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        for expression in expressions {
            let names = expression.matches(of: /tensorwall_[a-z_]+/).map { String($0.output) }
            #expect(!names.isEmpty, "\(expression)")
            for name in names {
                var family = name
                for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && !served.contains(family) {
                    family = String(family.dropLast(suffix.count))
                }
                #expect(served.contains(family), "\(name) in \(expression) is not served by /metrics")
            }
        }
    }
}
