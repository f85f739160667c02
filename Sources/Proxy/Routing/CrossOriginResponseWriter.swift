import HTTP1

/// Adds the CORS headers an allowed page's request earned to whatever response its handler
/// writes, whole or streamed, error or answer: a browser hides from the script any response
/// without them, 401s and 429s included.
struct CrossOriginResponseWriter: HTTPResponseWriter {
    let inner: any HTTPResponseWriter
    let added: HTTPHeaders

    var headSent: Bool { inner.headSent }
    var status: Int { inner.status }
    var isBroken: Bool { inner.isBroken }

    func closeConnectionAfterResponse() { inner.closeConnectionAfterResponse() }
    func abortConnection() { inner.abortConnection() }

    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) async throws {
        try await inner.respond(status: status, headers: withAdded(headers), body: body)
    }

    func start(status: Int, headers: HTTPHeaders) async throws {
        try await inner.start(status: status, headers: withAdded(headers))
    }

    func write(_ bytes: [UInt8]) async throws { try await inner.write(bytes) }
    func finish() async throws { try await inner.finish() }

    private func withAdded(_ headers: HTTPHeaders) -> HTTPHeaders {
        var all = headers
        for (name, value) in added where !all.contains(name) { all.add(name, value) }
        return all
    }
}
