import Balancer
import HTTP1
import WireFormats

/// Checks gateway keys. The presented key is hashed and compared with every configured hash in
/// constant time, so response timing says nothing about how much of a guess was right; only the
/// key's name ever reaches a log.
struct Authenticator: Sendable {
    private let keys: [ClusterConfig.APIKey]

    init(keys: [ClusterConfig.APIKey]) {
        self.keys = keys
    }

    enum Outcome: Equatable {
        case allowed(keyName: String)
        case missing
        case invalid
    }

    func check(_ headers: HTTPHeaders) -> Outcome {
        if keys.isEmpty { return .allowed(keyName: "-") }
        guard let presented = Self.presentedKey(headers) else { return .missing }
        let presentedHash = SHA256.digest(Array(presented.utf8))
        var match: String?
        for key in keys where Self.constantTimeEquals(key.sha256, presentedHash) {
            match = key.name
        }
        return match.map { .allowed(keyName: $0) } ?? .invalid
    }

    /// `X-API-Key`, `Authorization: Bearer KEY`, or the password of `Authorization: Basic` (what a
    /// browser sends for the status page).
    static func presentedKey(_ headers: HTTPHeaders) -> String? {
        if let key = headers["X-API-Key"], !key.isEmpty { return key }
        if let authorization = headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2 {
                let token = String(parts[1].trimmingSpacesAndTabs())
                switch parts[0].lowercased() {
                case "bearer" where !token.isEmpty: return token
                case "basic":
                    guard let decoded = Base64.decode(token), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
                    let password = String(decoding: decoded[decoded.index(after: colon)...], as: UTF8.self)
                    return password.isEmpty ? nil : password
                default: break
                }
            }
        }
        return nil
    }

    /// Compares every byte of the longer input whatever the first difference.
    static func constantTimeEquals(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        var difference = UInt8(x.count == y.count ? 0 : 1)
        let length = max(x.count, y.count)
        for index in 0..<length {
            let left = index < x.count ? x[index] : 0
            let right = index < y.count ? y[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
