/// What the command line asked for; parsing is separate from acting so it can be tested.
struct CommandLineOptions: Equatable {
    var configPath = "cluster.json"
    var host: String?
    var port: Int?
    var logLevel = "info"
    var action = Action.serve

    enum Action: Equatable {
        case serve
        case help
        case version
        case checkConfig(String)
        /// Reads a key on standard input and prints its SHA-256, for `"sha256"` in `apiKeys` / `adminKeys`.
        case hashKey
    }

    struct UsageError: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    static let usage = """
        Usage: tensorwall [--config PATH] [--host HOST] [--port PORT] [--log-level LEVEL]
               tensorwall check-config PATH
               tensorwall hash-key < key.txt
               tensorwall --help | --version

        A load balancer for a farm of Ollama servers: requests go to the node that already has the
        model loaded, with OpenAI-compatible and Ollama APIs in front.

          --config PATH       cluster configuration (default ./cluster.json)
          --host HOST         listen address, overrides listen.host
          --port PORT         listen port, overrides listen.port (0 picks a free port)
          --log-level LEVEL   debug, info, warning or error (default info)

        check-config explains a config file without starting; hash-key prints the SHA-256 of the key
        on standard input, to store keys in cluster.json as {"name": ..., "sha256": ...}.

        Signals: SIGTERM or SIGINT stop accepting, let requests in flight finish, then exit 0.

        Environment: OLLAMA_API_URL replaces the node list with that single node.
        """

    static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var rest = arguments[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let next = rest.popFirst(), !next.hasPrefix("--") else { throw UsageError(description: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            var flag = argument
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                rest.insert(String(argument[argument.index(after: equals)...]), at: rest.startIndex)
            }
            switch flag {
            case "--config", "-c": options.configPath = try value(flag)
            case "--host": options.host = try value(flag)
            case "--port", "-p":
                let text = try value(flag)
                guard let port = Int(text), (0...65535).contains(port) else {
                    throw UsageError(description: "--port must be a number from 0 to 65535, got \(text)")
                }
                options.port = port
            case "--log-level":
                let level = try value(flag)
                guard Logger.Level(name: level) != nil else {
                    throw UsageError(description: "--log-level must be debug, info, warning or error")
                }
                options.logLevel = level
            case "--help", "-h": options.action = .help
            case "--version": options.action = .version
            case "hash-key": options.action = .hashKey
            case "check-config":
                guard let path = rest.popFirst() else { throw UsageError(description: "check-config needs a file") }
                options.action = .checkConfig(path)
            default:
                throw UsageError(description: "unknown argument \(argument) (see --help)")
            }
        }
        return options
    }
}
