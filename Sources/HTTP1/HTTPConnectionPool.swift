import Synchronization

/// Idle keep-alive connections per upstream host, so a request to a node rarely pays for a connect.
final class HTTPConnectionPool: Sendable {
    private let idle = Mutex<[String: [HTTPClientConnection]]>([:])
    let maxIdlePerHost: Int

    init(maxIdlePerHost: Int) {
        self.maxIdlePerHost = maxIdlePerHost
    }

    /// An idle connection to `key` still fit for use, if any (stale ones are closed on the way).
    func checkOut(_ key: String) -> HTTPClientConnection? {
        while true {
            guard let connection = idle.withLock({ $0[key]?.popLast() }) else { return nil }
            if connection.socket.isReusable {
                connection.reused = true
                return connection
            }
            connection.socket.close()
        }
    }

    func checkIn(_ connection: HTTPClientConnection) {
        let overflow = idle.withLock { idle -> Bool in
            var list = idle[connection.poolKey, default: []]
            guard list.count < maxIdlePerHost else { return true }
            list.append(connection)
            idle[connection.poolKey] = list
            return false
        }
        if overflow { connection.socket.close() }
    }

    func closeAll() {
        let all = idle.withLock { idle in
            defer { idle = [:] }
            return idle.values.flatMap { $0 }
        }
        for connection in all { connection.socket.close() }
    }
}
