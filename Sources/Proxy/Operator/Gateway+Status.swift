import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `GET /status`: per node its health, last probe, pulled, loaded and loading models, in-flight requests
    /// and cold loads started; the length of TensorWall's wait queues.
    /// Nothing secret is shown: node URLs never carry credentials (the config refuses them) and no key appears.
    func status(_ writer: HTTPResponseWriter) async {
        let snapshots = await cluster.snapshots()
        let uptime = startedAt.duration(to: .now).components.seconds
        let nodes: [JSONValue] = snapshots.map { node in
            var entry: JSONObject = [
                "name": .string(node.name), "url": .string(node.url.description), "health": .string(node.health.rawValue),
                "priority": .int(Int64(node.priority)), "weight": .int(Int64(node.weight)), "maxParallel": .int(Int64(node.maxParallel)),
            ]
            if let probe = node.lastProbe {
                var probeEntry: JSONObject = [
                    "at": .string(ISOTimestamp.format(probe.at)), "ok": .bool(probe.succeeded),
                    "latencyMs": .double((probe.latencyMs * 10).rounded() / 10),
                ]
                if let error = probe.error { probeEntry["error"] = .string(error) }
                entry["lastProbe"] = .object(probeEntry)
            } else {
                entry["lastProbe"] = .null
            }
            entry["pulledModels"] = .array(
                node.pulled.values.sorted { $0.name < $1.name }.map {
                    ["name": .string($0.name.canonical), "size": .int($0.sizeBytes), "digest": .string($0.digest)]
                })
            entry["loadedModels"] = .array(
                node.loaded.values.sorted { $0.name < $1.name }.map { model in
                    var loaded: JSONObject = [
                        "name": .string(model.name.canonical), "size": .int(model.sizeBytes), "sizeVram": .int(model.vramBytes),
                    ]
                    loaded["expiresAt"] = model.expiresAt.map { .string(ISOTimestamp.format($0)) } ?? .null
                    loaded["inFlight"] = .int(Int64(node.inFlight(model.name)))
                    return .object(loaded)
                })
            let now = cluster.now
            entry["loadingModels"] = .array(
                node.loading.sorted { $0.key < $1.key }.map { name, load in
                    [
                        "name": .string(name.canonical), "elapsedSeconds": .double(((now - load.startedAt) * 10).rounded() / 10),
                        "predictedSeconds": .double((load.predictedSeconds * 10).rounded() / 10),
                    ]
                })
            entry["coldLoadsStarted"] = .int(Int64(node.coldLoadsStarted))
            entry["vramBytes"] = node.vramBudgetBytes.map { .int($0) } ?? .null
            entry["vramUsedBytes"] = .int(node.vramUsedBytes)
            let passive = cluster.passiveHealth(node.id)
            entry["ejectedForSeconds"] = passive.ejectedUntil.map { .double((($0 - now) * 10).rounded() / 10) } ?? .null
            entry["coolingDown"] = .bool(passive.coolingDown)
            entry["inFlight"] = .object(
                JSONObject(node.inFlight.sorted { $0.key < $1.key }.map { (key: $0.key.canonical, value: .int(Int64($0.value))) }))
            entry["inFlightTotal"] = .int(Int64(node.totalInFlight))
            return .object(entry)
        }
        let healthy = snapshots.filter { $0.health == .healthy }.count
        let ledger = usage.snapshot
        let body: JSONValue = [
            "status": .string(healthy > 0 ? "ok" : "degraded"), "uptimeSeconds": .int(uptime),
            "strategy": .string(config.strategy.rawValue),
            "healthyNodes": .int(Int64(healthy)), "nodes": .array(nodes),
            "usage": .array(
                ledger.totals.sorted { $0.key < $1.key }.map { key, totals in
                    [
                        "key": .string(key.apiKey), "model": .string(key.model), "node": .string(key.node),
                        "requests": .int(Int64(totals.requests)), "errors": .int(Int64(totals.errors)),
                        "promptTokens": .int(totals.promptTokens), "completionTokens": .int(totals.completionTokens),
                    ]
                }),
            "recent": .array(
                ledger.recent.reversed().prefix(30).map { entry in
                    [
                        "at": .string(ISOTimestamp.format(entry.at)), "model": .string(entry.model), "node": .string(entry.node),
                        "status": .int(Int64(entry.status)),
                        "ttftMs": entry.firstTokenSeconds.map { .double(($0 * 10_000).rounded() / 10) } ?? .null,
                        "durationMs": .double((entry.durationSeconds * 10_000).rounded() / 10),
                    ]
                }),
            "queued": .object(
                JSONObject(
                    cluster.queuedRequests().sorted { $0.key < $1.key }.map { (key: $0.key.canonical, value: .int(Int64($0.value))) })),
            "history": history.json,
        ]
        await respondJSON(writer, body)
    }
}

/// RFC 3339 UTC timestamps with milliseconds.
enum ISOTimestamp {
    static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        let millis = Int((seconds - Double(whole)) * 1000)
        let days = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400
        let secondsOfDay = whole - days * 86400
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Howard Hinnant's civil_from_days.
    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let dayOfEra = z - era * 146097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
