/// Why a request could not be read; each maps to the status code the server answers with.
public enum HTTPParseError: Error, Equatable, Sendable {
    case malformed(String)
    case headersTooLarge
    case bodyTooLarge
    case unsupportedTransferEncoding
    case expectationFailed

    public var status: Int {
        switch self {
        case .malformed: return 400
        case .headersTooLarge: return 431
        case .bodyTooLarge: return 413
        case .unsupportedTransferEncoding: return 501
        case .expectationFailed: return 417
        }
    }

    public var message: String {
        switch self {
        case .malformed(let why): return why
        case .headersTooLarge: return "request header fields too large"
        case .bodyTooLarge: return "request body too large"
        case .unsupportedTransferEncoding: return "unsupported transfer encoding"
        case .expectationFailed: return "unsupported expectation"
        }
    }
}
