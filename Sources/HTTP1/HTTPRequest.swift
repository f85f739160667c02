/// One request as the server hands it to a handler: the body is already read and de-chunked, except
/// for the uploads the server streams (`streamedBody`).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target exactly as sent, e.g. `/v1/models?x=1`.
    public var target: String
    public var versionMinor: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The body still to be read, for a request the server streams (`HTTPServerConfiguration.streamsBody`);
    /// `body` is then empty.
    public var streamedBody: HTTPRequestBody?

    public init(
        method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
        streamedBody: HTTPRequestBody? = nil
    ) {
        self.method = method
        self.target = target
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.streamedBody = streamedBody
    }

    /// The target without its query string.
    public var path: Substring {
        if let question = target.firstIndex(of: "?") { return target[..<question] }
        return target[...]
    }
}
