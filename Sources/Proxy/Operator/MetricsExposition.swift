import Balancer
import HTTP1

/// `GET /metrics` in Prometheus' text format (version 0.0.4): usage by key, model and node,
/// latency histograms by model and node, and the farm's state (health, in-flight, loads, queues).
struct MetricsExposition {
    let cluster: Cluster
    let usage: UsageLedger
    let hedgesStarted: Int
    let refusals: [RefusalLog.Reason: Int]
    /// Browser requests refused for their page's origin (`allowedOrigins`).
    var originRefusals = 0

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func text() async -> [UInt8] {
        let ledger = usage.snapshot
        let snapshots = await cluster.snapshots()
        var text = PrometheusText()

        text.family("tensorwall_requests_total", "counter", "Requests answered, by gateway key, model, node and HTTP status.")
        for (key, totals) in ledger.totals.sorted(by: { $0.key < $1.key }) {
            for (status, count) in totals.byStatus.sorted(by: { $0.key < $1.key }) {
                text.sample("tensorwall_requests_total", labels(key) + [("status", String(status))], Double(count))
            }
        }
        text.family("tensorwall_request_errors_total", "counter", "Requests answered with a 4xx or 5xx status.")
        for (key, totals) in ledger.totals.sorted(by: { $0.key < $1.key }) {
            text.sample("tensorwall_request_errors_total", labels(key), Double(totals.errors))
        }
        text.family("tensorwall_prompt_tokens_total", "counter", "Prompt tokens (Ollama's prompt_eval_count).")
        for (key, totals) in ledger.totals.sorted(by: { $0.key < $1.key }) {
            text.sample("tensorwall_prompt_tokens_total", labels(key), Double(totals.promptTokens))
        }
        text.family("tensorwall_completion_tokens_total", "counter", "Completion tokens (Ollama's eval_count).")
        for (key, totals) in ledger.totals.sorted(by: { $0.key < $1.key }) {
            text.sample("tensorwall_completion_tokens_total", labels(key), Double(totals.completionTokens))
        }
        text.histograms(
            "tensorwall_time_to_first_token_seconds", "Time from the request to the first byte of the answer.", ledger.firstToken)
        text.histograms("tensorwall_request_duration_seconds", "Time from the request to the end of the answer.", ledger.duration)

        text.family(
            "tensorwall_refusals_total", "counter",
            "Requests the farm turned away for load, by model and reason (overloaded, queue_full, queue_timeout).")
        for (reason, count) in refusals.sorted(by: { $0.key < $1.key }) {
            text.sample("tensorwall_refusals_total", [("model", reason.model.canonical), ("reason", reason.code)], Double(count))
        }
        text.family(
            "tensorwall_origin_refusals_total", "counter",
            "Browser requests refused with 403 because their page's origin is not in allowedOrigins.")
        text.sample("tensorwall_origin_refusals_total", [], Double(originRefusals))
        text.family("tensorwall_node_healthy", "gauge", "1 when the node is healthy, 0 otherwise.")
        for node in snapshots { text.sample("tensorwall_node_healthy", [("node", node.name)], node.health == .healthy ? 1 : 0) }
        text.family("tensorwall_node_in_flight", "gauge", "Requests TensorWall has running on the node.")
        for node in snapshots { text.sample("tensorwall_node_in_flight", [("node", node.name)], Double(node.totalInFlight)) }
        text.family(
            "tensorwall_hedged_requests_total", "counter",
            "Requests also sent to a second node because the first one's first byte was overdue.")
        text.sample("tensorwall_hedged_requests_total", [], Double(hedgesStarted))
        text.family("tensorwall_node_cold_loads_total", "counter", "Cold loads TensorWall started on the node.")
        for node in snapshots { text.sample("tensorwall_node_cold_loads_total", [("node", node.name)], Double(node.coldLoadsStarted)) }
        text.family("tensorwall_model_loaded", "gauge", "1 for each model loaded on each node.")
        for node in snapshots {
            for model in node.loaded.keys.sorted() {
                text.sample("tensorwall_model_loaded", [("node", node.name), ("model", model.canonical)], 1)
            }
        }
        text.family(
            "tensorwall_node_loads_stuck", "gauge",
            "1 while the node's loads look stuck (a load ran far past its prediction and was given up): it gets no load until it restarts.")
        for node in snapshots { text.sample("tensorwall_node_loads_stuck", [("node", node.name)], node.loadsLookStuck ? 1 : 0) }
        text.family("tensorwall_node_loads_in_progress", "gauge", "Cold loads under way on the node (invisible in Ollama's /api/ps).")
        for node in snapshots { text.sample("tensorwall_node_loads_in_progress", [("node", node.name)], Double(node.loading.count)) }
        text.family("tensorwall_node_vram_used_bytes", "gauge", "VRAM the node's loaded models take, from /api/ps.")
        for node in snapshots { text.sample("tensorwall_node_vram_used_bytes", [("node", node.name)], Double(node.vramUsedBytes)) }
        text.family(
            "tensorwall_node_vram_bytes", "gauge", "The node's VRAM: vramGB, or what /api/ps showed when a model spilled to the CPU.")
        for node in snapshots {
            if let budget = node.vramBudgetBytes { text.sample("tensorwall_node_vram_bytes", [("node", node.name)], Double(budget)) }
        }
        text.family("tensorwall_model_cold_loads_total", "counter", "Cold loads TensorWall started, by node and model.")
        for node in snapshots {
            for (model, count) in node.coldLoadsByModel.sorted(by: { $0.key < $1.key }) {
                text.sample("tensorwall_model_cold_loads_total", [("node", node.name), ("model", model.canonical)], Double(count))
            }
        }
        text.family("tensorwall_model_evictions_total", "counter", "Models unloaded to make room for a load, by node and model.")
        for node in snapshots {
            for (model, count) in node.evictionsByModel.sorted(by: { $0.key < $1.key }) {
                text.sample("tensorwall_model_evictions_total", [("node", node.name), ("model", model.canonical)], Double(count))
            }
        }
        text.family("tensorwall_queue_length", "gauge", "Requests waiting in TensorWall's queue for the model.")
        for (model, count) in cluster.queuedRequests().sorted(by: { $0.key < $1.key }) {
            text.sample("tensorwall_queue_length", [("model", model.canonical)], Double(count))
        }
        return Array(text.output.utf8)
    }

    private func labels(_ key: UsageLedger.Key) -> [(String, String)] {
        [("key", key.apiKey), ("model", key.model), ("node", key.node)]
    }
}

/// Builds Prometheus' text exposition format.
struct PrometheusText {
    private(set) var output = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        output += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        output += name
        if !labels.isEmpty {
            output += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        output += " " + Self.format(value) + "\n"
    }

    mutating func histograms(_ name: String, _ help: String, _ series: [UsageLedger.ModelNode: UsageLedger.Histogram]) {
        family(name, "histogram", help)
        for (pair, histogram) in series.sorted(by: { $0.key < $1.key }) {
            let labels = [("model", pair.model), ("node", pair.node)]
            var cumulative = 0
            for (bound, count) in zip(UsageLedger.bucketBounds, histogram.counts) {
                cumulative += count
                sample(name + "_bucket", labels + [("le", Self.format(bound))], Double(cumulative))
            }
            sample(name + "_bucket", labels + [("le", "+Inf")], Double(histogram.count))
            sample(name + "_sum", labels, histogram.sum)
            sample(name + "_count", labels, Double(histogram.count))
        }
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
