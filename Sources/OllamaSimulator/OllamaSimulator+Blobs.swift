import HTTP1
import WireFormats

// Uploaded model files, as `ollama create` from a local GGUF sends them: checked against their
// digest, kept, and made into a model by `/api/create` with `files`.
extension OllamaSimulator {
    /// `HEAD /api/blobs/DIGEST`: 200 when held, Ollama's 404 when not.
    func headBlob(_ digest: String, _ writer: HTTPResponseWriter) async {
        guard SHA256.isBlobDigest(digest) else { return await respondError(writer, 400, "invalid digest format") }
        guard blobSize(digest) != nil else { return await respondError(writer, 404, "blob \"\(digest)\" not found") }
        try? await writer.respond(status: 200)
    }

    /// `POST /api/blobs/DIGEST`: 201 once the bytes hash to the digest, 400 when they do not, 200
    /// when the blob was already here.
    func createBlob(_ digest: String, body: [UInt8], _ writer: HTTPResponseWriter) async {
        guard SHA256.isBlobDigest(digest) else { return await respondError(writer, 400, "invalid digest format") }
        if blobSize(digest) != nil {
            try? await writer.respond(status: 200)
            return
        }
        let actual = SHA256.blobDigest(body)
        let wanted = SHA256.canonicalBlobDigest(digest)
        guard actual == wanted else {
            return await respondError(writer, 400, "digest mismatch, expected \"\(digest)\", got \"\(actual)\"")
        }
        storeBlob(wanted, size: body.count)
        try? await writer.respond(status: 201)
    }

    /// `POST /api/create` with `files`: a model of the uploaded blobs' size, made only when the node
    /// holds every one (Ollama cannot open a blob it lacks).
    func createFromFiles(name: String, files: JSONObject, stream: Bool, _ writer: HTTPResponseWriter) async {
        var bytes = 0
        for case .string(let digest) in files.fields.map(\.value) {
            guard let size = blobSize(digest) else {
                let hex = digest.dropFirst("sha256:".count)
                let error = "open /root/.ollama/models/blobs/sha256-\(hex): no such file or directory"
                guard stream else { return await respondJSON(writer, 500, ["error": .string(error)]) }
                return await writeProgress([["status": "parsing GGUF"], ["error": .string(error)]], writer)
            }
            bytes += size
        }
        var model = SimulatedModel(name, sizeGB: Double(bytes) / 1e9)
        model.weights = "files:" + files.fields.compactMap { $0.value.stringValue }.sorted().joined(separator: ",")
        model.modifiedAt = UTCTimestamp.now(fractionDigits: 9)
        addPulled(model)
        guard stream else { return await respondJSON(writer, 200, ["status": "success"]) }
        await writeProgress([["status": "parsing GGUF"], ["status": "writing manifest"], ["status": "success"]], writer)
    }
}
