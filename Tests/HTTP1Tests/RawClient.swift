import Foundation

@testable import HTTP1

/// Speaks bytes to a server exactly as written, so tests can send what a well-behaved client never would.
final class RawClient {
    let connection: HTTPClientConnection

    init(port: Int) async throws {
        connection = try await HTTPClientConnection.open(host: "127.0.0.1", port: port, poolKey: "raw", deadline: .now + .seconds(5))
    }

    func send(_ text: String) async throws {
        try await connection.socket.write(Array(text.utf8), until: .now + .seconds(5))
    }

    /// Everything until the server closes the connection (or 5 s pass).
    func readUntilClose() async throws -> String {
        let deadline = ContinuousClock.now + .seconds(5)
        while try await connection.socket.read(into: connection.buffer, until: deadline) > 0 {}
        return String(decoding: connection.buffer.take(connection.buffer.readableCount), as: UTF8.self)
    }

    /// One response: head plus a Content-Length or chunked body. The deadline only ends a test that
    /// has failed, so it is generous: in `.ci/run` a response whose handler hopped to the global
    /// executor missed a 5 s deadline while the whole suite filled both cores.
    func readResponse() async throws -> (head: String, body: String) {
        let deadline = ContinuousClock.now + .seconds(30)
        let buffer = connection.buffer
        while buffer.firstOffset(of: [13, 10, 13, 10]) == nil {
            guard try await connection.socket.read(into: buffer, until: deadline) > 0 else { throw SocketError.closed }
        }
        let end = buffer.firstOffset(of: [13, 10, 13, 10])!
        let head = String(decoding: buffer.take(end + 4), as: UTF8.self)
        if let line = head.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") }),
            let length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
        {
            while buffer.readableCount < length {
                guard try await connection.socket.read(into: buffer, until: deadline) > 0 else { throw SocketError.closed }
            }
            return (head, String(decoding: buffer.take(length), as: UTF8.self))
        }
        if head.lowercased().contains("transfer-encoding: chunked") {
            var decoder = ChunkedDecoder()
            var pending = 0
            var body = [UInt8]()
            while true {
                switch try decoder.next(from: buffer, pendingConsume: &pending) {
                case .data(let piece): body.append(contentsOf: piece)
                case .needMore:
                    guard try await connection.socket.read(into: buffer, until: deadline) > 0 else { throw SocketError.closed }
                case .end: return (head, String(decoding: body, as: UTF8.self))
                }
            }
        }
        return (head, "")
    }

    func close() { connection.socket.close() }
}

/// A server that echoes what it parsed, for testing the codec itself.
func startEchoServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
    var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = HTTPServer(configuration: configuration) { request, writer in
        if request.path == "/stream" {
            try? await writer.start(status: 200, headers: ["Content-Type": "text/plain"])
            for piece in ["one ", "two ", "three"] { try? await writer.write(Array(piece.utf8)) }
            try? await writer.finish()
            return
        }
        if request.path == "/burst" {
            try? await writer.start(status: 200, headers: ["Content-Type": "text/plain"])
            for index in 0..<10 { try? await writer.write(Array("\(index) ".utf8)) }
            try? await writer.finish()
            return
        }
        if request.path.hasPrefix("/decode/") {
            let size = Int(request.path.dropFirst("/decode/".count)) ?? 0
            let place = await EventLoops.decoding(byteCount: size) { EventLoop.isLoopThread ? "loop" : "pool" }
            try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(place.utf8))
            return
        }
        if request.path == "/slow" {
            try? await Task.sleep(for: .milliseconds(300))
            try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array("late".utf8))
            return
        }
        if let body = request.streamedBody {
            // `/upload/all` reads the body as it arrives; `/upload/none` answers without reading it.
            var (pieces, bytes, checksum) = (0, 0, 0)
            while request.path == "/upload/all", let piece = try? await body.next() {
                pieces += 1
                bytes += piece.count
                for byte in piece { checksum = (checksum &* 31 &+ Int(byte)) & 0xffff_ffff }
            }
            let summary = request.path == "/upload/all" ? "pieces=\(pieces) bytes=\(bytes) checksum=\(checksum)" : "skipped"
            try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(summary.utf8))
            return
        }
        if request.path == "/where" {
            let place = EventLoop.isLoopThread ? "loop" : "pool"
            try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(place.utf8))
            return
        }
        let summary = "\(request.method) \(request.target) body=\(String(decoding: request.body, as: UTF8.self))"
        try? await writer.respond(status: 200, headers: ["Content-Type": "text/plain"], body: Array(summary.utf8))
    }
    try server.start()
    return server
}
