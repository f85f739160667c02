@preconcurrency import Glibc

/// Why a socket operation failed; carries errno so logs can say what the kernel said.
public enum SocketError: Error, Equatable, CustomStringConvertible, Sendable {
    case system(call: String, errno: Int32)
    case timedOut
    case closed
    case addressResolution(host: String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .timedOut: return "timed out"
        case .closed: return "connection closed"
        case .addressResolution(let host): return "cannot resolve host \(host)"
        }
    }

    static func last(_ call: String) -> SocketError { .system(call: call, errno: errno) }
}
