/// A request to an upstream `http://` server.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var host: String
    public var port: Int
    /// Path and query, e.g. `/api/chat`.
    public var target: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, host: String, port: Int, target: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.host = host
        self.port = port
        self.target = target
        self.headers = headers
        self.body = body
    }

    /// How a body sent apart from its head (`HTTPUpload`) is framed.
    enum StreamedFraming {
        case length(Int)
        case chunked
    }

    /// - Parameter streamed: the framing of a body sent apart from the head; nil frames `body`.
    func serializedHead(streamed: StreamedFraming? = nil) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\n"
        if !headers.contains("Host") {
            let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            text += "Host: \(hostPart):\(port)\r\n"
        }
        for (name, value) in headers
        where !name.caseInsensitiveEquals("Content-Length") && !name.caseInsensitiveEquals("Transfer-Encoding")
            && !name.caseInsensitiveEquals("Connection")
        {
            text += "\(name): \(value)\r\n"
        }
        switch streamed {
        case .length(let length): text += "Content-Length: \(length)\r\n"
        case .chunked: text += "Transfer-Encoding: chunked\r\n"
        case nil: if !body.isEmpty || method == "POST" || method == "PUT" { text += "Content-Length: \(body.count)\r\n" }
        }
        text += "\r\n"
        return Array(text.utf8)
    }
}

/// Time limits for one upstream exchange.
public struct HTTPClientTimeouts: Sendable {
    public var connect: Duration
    /// Until the response head arrives: must cover a cold model load.
    public var responseHead: Duration
    /// The longest silence allowed between body reads.
    public var idleRead: Duration

    public init(connect: Duration = .seconds(5), responseHead: Duration = .seconds(300), idleRead: Duration = .seconds(300)) {
        self.connect = connect
        self.responseHead = responseHead
        self.idleRead = idleRead
    }
}
