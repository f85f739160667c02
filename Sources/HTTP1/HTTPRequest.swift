/// One complete request as the server hands it to a handler: the body is already read and de-chunked.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target exactly as sent, e.g. `/v1/models?x=1`.
    public var target: String
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
    }

    /// The target without its query string.
    public var path: Substring {
        if let question = target.firstIndex(of: "?") { return target[..<question] }
        return target[...]
    }
}
