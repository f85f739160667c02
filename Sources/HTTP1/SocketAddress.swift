@preconcurrency import Glibc

/// A resolved IPv4 or IPv6 address, stored as raw sockaddr bytes so it can be handed to the kernel.
public struct SocketAddress: Sendable, Hashable {
    var storage: [UInt8]
    let family: Int32

    /// Resolves `host` (a name or a literal) with getaddrinfo, preferring what the resolver lists first.
    public static func resolve(host: String, port: Int) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        let lookupHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let status = getaddrinfo(lookupHost, String(port), &hints, &result)
        guard status == 0, let first = result else { throw SocketError.addressResolution(host: host) }
        defer { freeaddrinfo(result) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let family = current.pointee.ai_family
            if family == AF_INET || family == AF_INET6, let address = current.pointee.ai_addr {
                let bytes = UnsafeRawBufferPointer(start: address, count: Int(current.pointee.ai_addrlen))
                return SocketAddress(storage: Array(bytes), family: family)
            }
            entry = current.pointee.ai_next
        }
        throw SocketError.addressResolution(host: host)
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        storage.withUnsafeBytes { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }

    /// The port in host byte order.
    public var port: Int {
        storage.withUnsafeBytes { raw in
            // sin_port and sin6_port both sit at offset 2, big-endian.
            Int(raw[2]) << 8 | Int(raw[3])
        }
    }
}
