import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// Sends a farm change that answers with Ollama's progress lines (`/api/pull`, `/api/create`)
    /// to every target at once and relays the lines as Ollama's NDJSON, each tagged with its node;
    /// one node's `success` reads `node NAME: success`, and the last line is `{"status":"success"}`
    /// only when every node succeeded (else an `error` naming each node that did not). Unstreamed,
    /// the client gets that last line alone, with 500 for an error. When any node succeeded and the
    /// change alters what nodes hold, the farm's models are learned again before the last line
    /// (`relearnFarmModels`).
    /// Returns the nodes that succeeded.
    @discardableResult
    func relayProgress(
        of path: String, verb: String, fields: JSONObject, to targets: [NodeSnapshot], _ writer: HTTPResponseWriter,
        relearnsModels: Bool = true
    ) async -> [String] {
        let stream = fields["stream"]?.boolValue ?? true
        var sent = fields
        sent["node"] = nil
        sent["stream"] = true
        let body = JSONValue.object(sent).serialized()
        let (lines, continuation) = AsyncStream<(node: String, line: JSONValue)>.makeStream()
        let changes = Task { [client, upstreamTimeouts] in
            await withTaskGroup(of: Void.self) { group in
                for node in targets {
                    group.addTask {
                        let upstream = HTTPClientRequest.toNode(node.url, path: path, body: body)
                        do {
                            let response = try await client.execute(upstream, timeouts: upstreamTimeouts)
                            var splitter = JSONStreamSplitter()
                            while let piece = try await response.next() {
                                for value in try splitter.values(in: piece) {
                                    continuation.yield((node.name, try JSONParser.parse(value)))
                                }
                            }
                            if let rest = splitter.remainder() {
                                continuation.yield((node.name, try JSONParser.parse(rest)))
                            }
                        } catch {
                            continuation.yield((node.name, ["error": .string("\(verb) on node \(node.name) failed: \(error)")]))
                        }
                    }
                }
            }
            continuation.finish()
        }
        defer { changes.cancel() }

        var failures: [String] = []
        var succeeded = Set<String>()
        if stream {
            guard (try? await writer.start(status: 200, headers: ["Content-Type": "application/x-ndjson"])) != nil else { return [] }
        }
        for await (node, line) in lines {
            guard case .object(var entry) = line else { continue }
            if let error = entry["error"].flatMap(StreamChunkFacts.errorText) {
                failures.append(error.hasPrefix("\(verb) on node") ? error : "node \(node): \(error)")
            } else if entry["status"]?.stringValue == "success" {
                succeeded.insert(node)
                entry["status"] = .string("node \(node): success")
            }
            entry["node"] = .string(node)
            if stream {
                var bytes = JSONValue.object(entry).serialized()
                bytes.append(10)
                guard (try? await writer.write(bytes)) != nil else { return succeeded.sorted() }
            }
        }
        for node in targets where !succeeded.contains(node.name) && !failures.contains(where: { $0.contains(node.name) }) {
            failures.append("node \(node.name): the \(verb) ended without success")
        }
        if relearnsModels && !succeeded.isEmpty { await relearnFarmModels() }
        let final: JSONValue = failures.isEmpty ? ["status": "success"] : ["error": .string(failures.joined(separator: "; "))]
        if stream {
            var bytes = final.serialized()
            bytes.append(10)
            try? await writer.write(bytes)
            try? await writer.finish()
        } else {
            await respondOllamaJSON(writer, final, status: failures.isEmpty ? 200 : 500)
        }
        return succeeded.sorted()
    }

    /// After a change to what the nodes hold: probes them again and asks `/api/show` about new
    /// models (`ModelDescriber.describeAllNow`), so routing knows the change before the client hears
    /// it is done.
    func relearnFarmModels() async {
        await monitor.probeAll()
        let describer = ModelDescriber(
            cluster: cluster, client: client, timeout: .milliseconds(config.health.timeoutMs), logger: logger, loads: loads)
        await describer.describeAllNow()
    }

    /// The request's JSON object, or nil once Ollama's error for a body that is not one is sent.
    func farmChangeFields(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async -> JSONObject? {
        guard !request.body.isEmpty else {
            await respond(writer, APIError(status: 400, "missing request body"), openAI: false)
            return nil
        }
        guard case .object(let fields) = (try? JSONParser.parse(request.body)) ?? .null else {
            await respond(writer, APIError(status: 400, "invalid JSON in request body"), openAI: false)
            return nil
        }
        return fields
    }

    /// The nodes a farm change goes to: the one named, which must be healthy, or every healthy node.
    func farmChangeTargets(named name: String?, noneHealthy: String) async -> Result<[NodeSnapshot], APIError> {
        let snapshots = await cluster.snapshots()
        guard let name else {
            let healthy = snapshots.filter { $0.health == .healthy }
            return healthy.isEmpty ? .failure(APIError(status: 503, noneHealthy)) : .success(healthy)
        }
        guard let node = snapshots.first(where: { $0.name == name }) else {
            return .failure(APIError(status: 404, "no node named '\(name)'"))
        }
        guard node.health == .healthy else { return .failure(APIError(status: 503, "node '\(name)' is not healthy")) }
        return .success([node])
    }
}
