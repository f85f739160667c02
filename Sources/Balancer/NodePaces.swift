import Foundation

/// How much slower each node answers than the farm's typical node, and each model's service time at
/// that typical pace. A GPU that throttles, that another job shares, or that is simply an older card
/// answers every model it holds more slowly. Averaged into one service time per model, its answers
/// made every model it held look busier than it was, and the planner asked for copies nobody needed;
/// while its copies still counted as whole ones, so a model whose only copy ran there saturated.
///
/// The learned times are split into a pace per node and a time per model (log time = log pace + log
/// model time, fitted over the models measured on more than one node), with the median node at pace
/// 1. A pace within `settledBand` of 1 counts as 1: answers of different lengths move a node's times
/// by a few tens of percent, and a farm of like nodes must plan exactly as it would without paces.
public struct NodePaces: Sendable, Equatable {
    /// Paces outside the band, by node index; every other node is at pace 1.
    public private(set) var paces: [Int: Double] = [:]
    /// Each measured model's service time at pace 1.
    private var typicalService: [ModelName: Double] = [:]

    /// How far from the typical node a pace must be to count: 1.5 times slower, or quicker.
    public static let settledBand = 1.5

    public init(_ nodes: [NodeSnapshot], band: Double = NodePaces.settledBand) {
        var measuredOn: [ModelName: [(node: Int, seconds: Double)]] = [:]
        for node in nodes {
            for (model, seconds) in node.serviceSeconds where seconds > 0 {
                measuredOn[model, default: []].append((node.index, seconds))
            }
        }
        let shared = measuredOn.filter { $0.value.count >= 2 }
        if !shared.isEmpty {
            paces = Self.fittedPaces(shared).filter { max($0.value, 1 / $0.value) >= band }
        }
        for (model, cells) in measuredOn {
            typicalService[model] = cells.reduce(0) { $0 + $1.seconds / pace(ofNode: $1.node) } / Double(cells.count)
        }
    }

    /// True when every node answers at the typical pace.
    public var isUniform: Bool { paces.isEmpty }

    /// The node's pace: its answers take this many times the typical node's.
    public func pace(ofNode index: Int) -> Double { paces[index] ?? 1 }

    /// The model's service time at pace 1; nil where no node has measured it.
    public func typicalServiceSeconds(_ model: ModelName) -> Double? { typicalService[model] }

    /// Least squares in log space by alternating means: each model's time given the paces, then each
    /// node's pace given the times, until they settle; then scaled so the median node is at 1.
    private static func fittedPaces(_ shared: [ModelName: [(node: Int, seconds: Double)]]) -> [Int: Double] {
        let byModel = shared.mapValues { cells in cells.map { (node: $0.node, log: log($0.seconds)) } }
        var byNode: [Int: [(model: ModelName, log: Double)]] = [:]
        for (model, cells) in byModel {
            for cell in cells { byNode[cell.node, default: []].append((model, cell.log)) }
        }
        var logPace = byNode.mapValues { _ in 0.0 }
        var logTime: [ModelName: Double] = [:]
        for _ in 0..<32 {
            for (model, cells) in byModel {
                logTime[model] = cells.reduce(0) { $0 + $1.log - logPace[$1.node]! } / Double(cells.count)
            }
            var moved = 0.0
            for (node, cells) in byNode {
                let fitted = cells.reduce(0) { $0 + $1.log - logTime[$1.model]! } / Double(cells.count)
                moved = max(moved, abs(fitted - logPace[node]!))
                logPace[node] = fitted
            }
            if moved < 1e-4 { break }
        }
        let sorted = logPace.values.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return logPace.mapValues { exp($0 - median) }
    }
}
