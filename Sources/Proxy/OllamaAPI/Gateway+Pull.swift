import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /api/pull`: to the node named in `"node"`, or to every healthy node at once. Progress
    /// is streamed as Ollama's NDJSON, each line tagged with its node; one node's `success` reads
    /// `node NAME: success`, and the last line is `{"status":"success"}` only when every node succeeded.
    func pull(_ request: HTTPRequest, _ writer: HTTPResponseWriter) async {
        guard !request.body.isEmpty else { return await respond(writer, APIError(status: 400, "missing request body"), openAI: false) }
        guard case .object(var fields) = (try? JSONParser.parse(request.body)) ?? .null else {
            return await respond(writer, APIError(status: 400, "invalid JSON in request body"), openAI: false)
        }
        let model = fields["model"]?.stringValue ?? fields["name"]?.stringValue ?? ""
        guard !model.isEmpty else { return await respond(writer, APIError(status: 400, "model is required"), openAI: false) }
        let stream = fields["stream"]?.boolValue ?? true
        let targets: [NodeSnapshot]
        switch await farmChangeTargets(named: fields["node"]?.stringValue, noneHealthy: "no healthy node to pull to") {
        case .success(let nodes): targets = nodes
        case .failure(let error): return await respond(writer, error, openAI: false)
        }
        fields["node"] = nil
        fields["stream"] = true
        let body = JSONValue.object(fields).serialized()

        let (lines, continuation) = AsyncStream<(node: String, line: JSONValue)>.makeStream()
        let pulls = Task { [client, upstreamTimeouts] in
            await withTaskGroup(of: Void.self) { group in
                for node in targets {
                    group.addTask {
                        let upstream = HTTPClientRequest.toNode(node.url, path: "/api/pull", body: body)
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
                            continuation.yield((node.name, ["error": .string("pull on node \(node.name) failed: \(error)")]))
                        }
                    }
                }
            }
            continuation.finish()
        }
        defer { pulls.cancel() }

        var failures: [String] = []
        var succeeded = Set<String>()
        if stream {
            guard (try? await writer.start(status: 200, headers: ["Content-Type": "application/x-ndjson"])) != nil else { return }
        }
        for await (node, line) in lines {
            guard case .object(var entry) = line else { continue }
            if let error = entry["error"].flatMap(StreamChunkFacts.errorText) {
                failures.append(error.hasPrefix("pull on node") ? error : "node \(node): \(error)")
            } else if entry["status"]?.stringValue == "success" {
                succeeded.insert(node)
                entry["status"] = .string("node \(node): success")
            }
            entry["node"] = .string(node)
            if stream {
                var bytes = JSONValue.object(entry).serialized()
                bytes.append(10)
                guard (try? await writer.write(bytes)) != nil else { return }
            }
        }
        for node in targets where !succeeded.contains(node.name) && !failures.contains(where: { $0.contains(node.name) }) {
            failures.append("node \(node.name): the pull ended without success")
        }
        let final: JSONValue = failures.isEmpty ? ["status": "success"] : ["error": .string(failures.joined(separator: "; "))]
        if stream {
            var bytes = final.serialized()
            bytes.append(10)
            try? await writer.write(bytes)
            try? await writer.finish()
        } else {
            await respondOllamaJSON(writer, final, status: failures.isEmpty ? 200 : 500)
        }
        if !succeeded.isEmpty { logger.info("pulled \(model) on \(succeeded.sorted().joined(separator: ", "))") }
    }
}
