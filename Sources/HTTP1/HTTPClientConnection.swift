/// One upstream TCP connection with its read buffer; lives in the pool while idle.
// @unchecked Sendable: a connection is used by one request at a time; the pool hands it over under its lock.
final class HTTPClientConnection: @unchecked Sendable {
    let socket: Socket
    let buffer = ReadBuffer()
    let poolKey: String
    var reused = false

    init(socket: Socket, poolKey: String) {
        self.socket = socket
        self.poolKey = poolKey
    }

    static func open(host: String, port: Int, poolKey: String, deadline: ContinuousClock.Instant) async throws
        -> HTTPClientConnection
    {
        let address = try SocketAddress.resolve(host: host, port: port)
        let fd = try SocketCalls.newSocket(family: address.family)
        let socket = Socket(adopting: fd)
        do {
            if try !SocketCalls.startConnect(fd, to: address) {
                try await socket.wait(for: .write, until: deadline)
                try SocketCalls.connectResult(fd)
            }
        } catch {
            socket.close()
            throw error
        }
        SocketCalls.setOption(fd, Int32(6 /* IPPROTO_TCP */), 1 /* TCP_NODELAY */)
        return HTTPClientConnection(socket: socket, poolKey: poolKey)
    }
}
