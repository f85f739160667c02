import Balancer
import Foundation
import WireFormats

/// `tensorwall top`'s screen: the farm as `/status` reports it — nodes, the models loaded on each
/// with their requests in flight, loads under way, queues, each model's demand against its copies,
/// and time to first token over the recent requests — laid out for a terminal in plain text (ANSI
/// colour only for health).
struct StatusView {
    var colour = true

    func render(_ status: JSONValue) -> String {
        var lines: [String] = []
        let nodes = status["nodes"]?.arrayValue ?? []
        let healthy = status["healthyNodes"]?.intValue ?? 0
        let uptime = status["uptimeSeconds"]?.intValue ?? 0
        lines.append(
            "TensorWall  \(paint(status["status"]?.stringValue ?? "?"))  strategy \(status["strategy"]?.stringValue ?? "?")  "
                + "nodes \(healthy)/\(nodes.count) healthy  up \(Self.duration(uptime))")
        let recent = status["recent"]?.arrayValue ?? []
        let ttfts = recent.compactMap { $0["ttftMs"]?.doubleValue }.sorted()
        if ttfts.isEmpty {
            lines.append("time to first token: no recent requests")
        } else {
            lines.append(
                "time to first token (last \(ttfts.count) requests): p50 \(Self.milliseconds(FarmHistory.percentile(ttfts, 0.5)))  "
                    + "p95 \(Self.milliseconds(FarmHistory.percentile(ttfts, 0.95)))")
        }
        lines.append("")
        lines.append(Self.row(["NODE", "HEALTH", "IN FLIGHT", "COLD LOADS", "LOADED (in flight)", "LOADING"], widths: Self.nodeWidths))
        for node in nodes {
            let loaded = (node["loadedModels"]?.arrayValue ?? []).map { model in
                "\(model["name"]?.stringValue ?? "?")(\(model["inFlight"]?.intValue ?? 0))"
            }
            let loading = (node["loadingModels"]?.arrayValue ?? []).map { model in
                "\(model["name"]?.stringValue ?? "?") \(Int(model["elapsedSeconds"]?.doubleValue ?? 0))s"
            }
            var health = node["health"]?.stringValue ?? "?"
            if let ejected = node["ejectedForSeconds"]?.doubleValue { health += " (ejected \(Int(ejected))s)" }
            lines.append(
                Self.row(
                    [
                        node["name"]?.stringValue ?? "?", health, String(node["inFlightTotal"]?.intValue ?? 0),
                        String(node["coldLoadsStarted"]?.intValue ?? 0), loaded.isEmpty ? "-" : loaded.joined(separator: " "),
                        loading.isEmpty ? "-" : loading.joined(separator: " "),
                    ], widths: Self.nodeWidths, paintColumn: 1, painter: paint))
        }
        lines.append("")
        lines.append(Self.row(["MODEL", "QUEUED", "REQUESTS", "ERRORS", "TOKENS OUT"], widths: Self.modelWidths))
        var models: [String: (requests: Int64, errors: Int64, tokens: Int64)] = [:]
        for entry in status["usage"]?.arrayValue ?? [] {
            let name = entry["model"]?.stringValue ?? "?"
            var totals = models[name] ?? (0, 0, 0)
            totals.requests += entry["requests"]?.intValue ?? 0
            totals.errors += entry["errors"]?.intValue ?? 0
            totals.tokens += entry["completionTokens"]?.intValue ?? 0
            models[name] = totals
        }
        var queued: [String: Int64] = [:]
        for (name, count) in status["queued"]?.objectValue ?? [:] { queued[name] = count.intValue ?? 0 }
        for name in Set(models.keys).union(queued.keys).sorted() {
            let totals = models[name] ?? (0, 0, 0)
            let cells: [String] = [
                name, String(queued[name] ?? 0), String(totals.requests), String(totals.errors), String(totals.tokens),
            ]
            lines.append(Self.row(cells, widths: Self.modelWidths))
        }
        lines.append("")
        lines.append(contentsOf: demandRows(status["models"]?.arrayValue ?? []))
        return lines.joined(separator: "\n") + "\n"
    }

    /// What the planner reads per model and the copies it has against those it wants: a model warm on
    /// fewer nodes than it wants is short of room, not overlooked.
    private func demandRows(_ models: [JSONValue]) -> [String] {
        var rows = [Self.row(["DEMAND", "REQ/S", "ANSWER", "COPIES (wanted)", "WARM ON", "LOADING ON"], widths: Self.demandWidths)]
        for model in models {
            let warm = (model["warmOn"]?.arrayValue ?? []).compactMap(\.stringValue)
            let loading = (model["loadingOn"]?.arrayValue ?? []).compactMap(\.stringValue)
            let rate = model["requestsPerSecond"]?.doubleValue ?? 0
            let answer = model["serviceSeconds"]?.doubleValue ?? 0
            rows.append(
                Self.row(
                    [
                        model["name"]?.stringValue ?? "?", String(format: "%.3f", rate), String(format: "%.2f s", answer),
                        "\(warm.count + loading.count) (\(model["copiesWanted"]?.intValue ?? 0)\(Self.withoutRoom(model)))",
                        warm.isEmpty ? "-" : warm.joined(separator: " "), loading.isEmpty ? "-" : loading.joined(separator: " "),
                    ], widths: Self.demandWidths))
        }
        return rows
    }

    /// "; 2 no room" when the planner found no place for some of the copies wanted (`copiesWithoutRoom`).
    static func withoutRoom(_ model: JSONValue) -> String {
        let count = model["copiesWithoutRoom"]?.intValue ?? 0
        return count > 0 ? "; \(count) no room" : ""
    }

    static let demandWidths = [28, 8, 10, 17, 30, 20]
    static let nodeWidths = [14, 22, 10, 11, 48, 20]
    static let modelWidths = [28, 8, 10, 8, 12]

    static func row(_ cells: [String], widths: [Int], paintColumn: Int? = nil, painter: ((String) -> String)? = nil) -> String {
        var line = ""
        for (index, cell) in cells.enumerated() {
            let width = index < widths.count ? widths[index] : cell.count
            let padded = cell.count >= width ? cell + " " : cell + String(repeating: " ", count: width - cell.count)
            line += index == paintColumn ? (painter?(padded) ?? padded) : padded
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }

    /// Green for healthy or ok, yellow for suspect (one probe failed, the next decides), red for
    /// anything else; plain text without colour.
    func paint(_ text: String) -> String {
        guard colour else { return text }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let code = trimmed.hasPrefix("healthy") || trimmed == "ok" ? "32" : trimmed.hasPrefix("suspect") ? "33" : "31"
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    static func milliseconds(_ value: Double) -> String {
        value >= 1000 ? String(Double(Int(value / 10)) / 100) + " s" : String(Int(value.rounded())) + " ms"
    }

    static func duration(_ seconds: Int64) -> String {
        seconds >= 3600 ? "\(seconds / 3600)h\(seconds / 60 % 60)m" : seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}
