@preconcurrency import Glibc

/// Thin, non-blocking wrappers over the socket system calls; every descriptor is O_NONBLOCK and CLOEXEC.
enum SocketCalls {
    static func makeNonBlocking(_ fd: Int32) throws {
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0 else { throw SocketError.last("fcntl") }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32 = 1) {
        var value = value
        _ = setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    static func newSocket(family: Int32) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError.last("socket") }
        do { try makeNonBlocking(fd) } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Binds and listens; returns the descriptor and the port actually bound (useful with port 0).
    static func listen(host: String, port: Int, backlog: Int32) throws -> (fd: Int32, port: Int) {
        let address = try SocketAddress.resolve(host: host, port: port)
        let fd = try newSocket(family: address.family)
        setOption(fd, SOL_SOCKET, SO_REUSEADDR)
        let bound = address.withSockAddr { bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = SocketError.last("bind \(host):\(port)")
            close(fd)
            throw error
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = SocketError.last("listen")
            close(fd)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let boundPort = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Int in
                guard getsockname(fd, address, &length) == 0 else { return port }
                let raw = UnsafeRawPointer(address).assumingMemoryBound(to: UInt8.self)
                return Int(raw[2]) << 8 | Int(raw[3])
            }
        }
        return (fd, boundPort)
    }

    enum Progress { case done(Int32), wouldBlock }

    static func accept(_ listener: Int32) throws -> Progress {
        let fd = Glibc.accept(listener, nil, nil)
        if fd >= 0 {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            do { try makeNonBlocking(fd) } catch {
                close(fd)
                throw error
            }
            return .done(fd)
        }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED: return .wouldBlock
        default: throw SocketError.last("accept")
        }
    }

    /// Starts a non-blocking connect; `.wouldBlock` means wait for writability then call `connectResult`.
    static func startConnect(_ fd: Int32, to address: SocketAddress) throws -> Bool {
        let status = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if status == 0 { return true }
        if errno == EINPROGRESS || errno == EINTR { return false }
        throw SocketError.last("connect")
    }

    static func connectResult(_ fd: Int32) throws {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { throw SocketError.last("getsockopt") }
        if code != 0 { throw SocketError.system(call: "connect", errno: code) }
    }

    enum ReadResult { case bytes(Int), endOfStream, wouldBlock }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> ReadResult {
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 { return .bytes(count) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw SocketError.last("recv")
            }
        }
    }

    /// Sends as much as the kernel takes now; returns the count (0 when it would block).
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws -> Int {
        while true {
            let count = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if count >= 0 { return count }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return 0
            default: throw SocketError.last("send")
            }
        }
    }

    /// True when the peer has closed its side: readable with zero bytes pending.
    static func peerHasClosed(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if count == 0 { return true }
        if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return true }
        return false
    }
}

extension SocketCalls {
    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// For pooled idle connections: any readable state (EOF, error or stray bytes) makes them unusable.
    static func peerHasClosedOrSentData(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if count >= 0 { return true }
        return errno != EAGAIN && errno != EWOULDBLOCK
    }
}
