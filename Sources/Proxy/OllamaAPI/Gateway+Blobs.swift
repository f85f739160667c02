import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `HEAD /api/blobs/DIGEST`: 200 only when every healthy node holds the blob, so `ollama
    /// create` from a local file uploads it whenever a node lacks it; else Ollama's 404.
    func blobHeld(digest: String, _ writer: HTTPResponseWriter) async {
        guard let lacking = await nodesLacking(blob: digest, writer) else { return }
        guard lacking.isEmpty else { return await respond(writer, APIError(status: 404, "blob \"\(digest)\" not found"), openAI: false) }
        try? await writer.respond(status: 200)
    }

    /// `POST /api/blobs/DIGEST`: the upload (a model's weights or an adapter, gigabytes) relayed
    /// to every healthy node that lacks the blob as it arrives, never held whole, so a model made
    /// from it next (`/api/create` with `files`) can be made on every node. Ollama's 201 when every
    /// node took it (200 when all had it); a node that checks the digest and refuses it, Ollama's
    /// 400; a node that fails, named in a 500 with the nodes that took it.
    func uploadBlob(_ request: HTTPRequest, digest: String, _ writer: HTTPResponseWriter) async {
        guard let lacking = await nodesLacking(blob: digest, writer) else { return }
        guard !lacking.isEmpty else {
            _ = await request.streamedBody?.discardRest(limit: .max)
            try? await writer.respond(status: 200)
            return
        }
        guard let answers = await relayUpload(request, to: lacking, path: "/api/blobs/\(digest)", writer) else { return }
        var verdict = ModelFileChangeAnswers()
        for (node, answer) in answers { verdict.record(answer, from: node) }
        switch verdict.verdict {
        case .done:
            logger.info("blob \(digest) uploaded to \(verdict.changed.sorted().joined(separator: ", "))")
            try? await writer.respond(status: 201)
        case .failed(let error): await respond(writer, error, openAI: false)
        }
    }

    /// Sends the request's body to each node as it is read, and returns each node's answer; nil
    /// when the body broke off (the uploads are then dropped): a client that stopped sending hears
    /// nothing more, and one whose chunked framing is malformed hears why, in a 400.
    private func relayUpload(_ request: HTTPRequest, to nodes: [NodeSnapshot], path: String, _ writer: HTTPResponseWriter) async
        -> [(String, NodeAnswer)]?
    {
        let body = request.streamedBody
        var answers: [(String, NodeAnswer)] = []
        var uploads: [(node: String, upload: HTTPUpload)] = []
        for node in nodes {
            let head = HTTPClientRequest.toNode(node.url, path: path, contentType: "application/octet-stream")
            do {
                // A body that came chunked goes on chunked (nil): its length is known only at its end.
                let length = body.map(\.declaredLength) ?? request.body.count
                uploads.append((node.name, try await HTTPUpload.start(head, length: length, client: client, timeouts: upstreamTimeouts)))
            } catch {
                answers.append((node.name, .unreachable("\(error)")))
            }
        }
        func relay(_ piece: [UInt8]) async {
            var kept: [(node: String, upload: HTTPUpload)] = []
            for entry in uploads {
                do {
                    try await entry.upload.send(piece)
                    kept.append(entry)
                } catch {
                    answers.append((entry.node, .unreachable("the upload broke off: \(error)")))
                }
            }
            uploads = kept
        }
        if let body {
            do {
                while !uploads.isEmpty, let piece = try await body.next() { await relay(piece) }
            } catch let error as HTTPParseError {
                await respond(writer, APIError(status: error.status, "request body: \(error.message)"), openAI: false)
                return nil
            } catch {
                logger.warning("blob upload to \(path) ended early: the client stopped sending (\(error))")
                return nil
            }
        } else {
            await relay(request.body)
        }
        for (node, upload) in uploads {
            do {
                let response = try await upload.response()
                answers.append((node, .answered(status: response.status, body: try await response.collect(limit: 64 * 1024))))
            } catch {
                answers.append((node, .unreachable("\(error)")))
            }
        }
        return answers
    }

    /// The healthy nodes whose `HEAD /api/blobs/DIGEST` did not say they hold it; nil once Ollama's
    /// error is sent for a digest that is not one, or TensorWall's for a farm with no healthy node.
    private func nodesLacking(blob digest: String, _ writer: HTTPResponseWriter) async -> [NodeSnapshot]? {
        guard SHA256.isBlobDigest(digest) else {
            await respond(writer, APIError(status: 400, "invalid digest format"), openAI: false)
            return nil
        }
        let nodes: [NodeSnapshot]
        switch await farmChangeTargets(named: nil, noneHealthy: "no healthy node for the blob") {
        case .success(let healthy): nodes = healthy
        case .failure(let error):
            await respond(writer, error, openAI: false)
            return nil
        }
        let held = Set(
            await askEachNode(nodes, "HEAD", path: "/api/blobs/\(digest)", body: []).compactMap { node, answer in
                if case .answered(200, _) = answer { return node }
                return nil
            })
        return nodes.filter { !held.contains($0.name) }
    }
}
