import APITranslation
import HTTP1
import WireFormats

extension Gateway {
    /// The request with the body its handler reads: as sent, or decoded from zstd, which Ollama
    /// decodes on its POST routes and OpenAI's Codex sends. Nil once a body TensorWall cannot read
    /// has been answered: another encoding (415: TensorWall reads every body to place it, and would
    /// otherwise read the bytes as bad JSON), a broken zstd stream (400) or one that decodes past
    /// `limits.maxBodyBytes` (413).
    func decodedBody(of request: HTTPRequest, _ writer: HTTPResponseWriter) async -> HTTPRequest? {
        guard let sent = request.headers["Content-Encoding"], !request.body.isEmpty else { return request }
        let encoding = sent.trimmingSpacesAndTabs().lowercased()
        if encoding == "identity" { return request }
        let dialect = ErrorDialect(path: request.path)
        func unsupported() -> APIError {
            APIError(status: 415, "request bodies with Content-Encoding \(sent) are not supported: send the body uncompressed")
        }
        guard encoding == "zstd" && Zstd.isAvailable else {
            await respond(writer, unsupported(), dialect: dialect)
            return nil
        }
        let limit = config.limits.maxBodyBytes
        do {
            var decoded = request
            decoded.body = try Zstd.decompress(request.body, maxOutputBytes: limit)
            decoded.headers.remove("Content-Encoding")
            return decoded
        } catch {
            let answer =
                switch error {
                case .tooLarge:
                    APIError(status: 413, "request body too large: it decodes to more than \(limit) bytes (limits.maxBodyBytes)")
                case .corrupt(let reason): APIError(status: 400, "failed to decompress zstd body: \(reason)")
                case .unavailable: unsupported()
                }
            await respond(writer, answer, dialect: dialect)
            return nil
        }
    }
}
