import Foundation

/// Writes `tensorwall: MESSAGE` to standard error: how every command reports what stops it.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("tensorwall: \(message)\n".utf8))
}

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
        /// A live terminal view of a running TensorWall's `/status`.
        case top(url: String, key: String?, once: Bool)
        /// TensorWall in front of a simulated farm with light traffic, to try it without a GPU.
        case demo(port: Int, rate: Double, duration: Double?)
    }

    struct UsageError: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    static let usage = """
        Usage: tensorwall [--config PATH] [--host HOST] [--port PORT] [--log-level LEVEL]
               tensorwall check-config PATH
               tensorwall hash-key < key.txt
               tensorwall top [--url http://127.0.0.1:8000] [--key ADMIN_KEY] [--once]
               tensorwall demo [--port 8000] [--rate 1.0] [--duration SECONDS]
               tensorwall --help | --version

        A load balancer for a farm of Ollama servers: requests go to the node that already has the
        model loaded, with OpenAI-compatible and Ollama APIs in front.

          --config PATH       cluster configuration (default ./cluster.json)
          --host HOST         listen address, overrides listen.host
          --port PORT         listen port, overrides listen.port (0 picks a free port)
          --log-level LEVEL   debug, info, warning or error (default info)

        demo starts three simulated Ollama nodes and light traffic in front of TensorWall, no GPU needed;
        top shows nodes, loaded models, requests in flight, queues and time to first token of a
        running TensorWall, refreshed every second (--once prints one frame and exits);
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
                if case .demo(_, let rate, let duration) = options.action {
                    options.action = .demo(port: port, rate: rate, duration: duration)
                }
            case "--log-level":
                let level = try value(flag)
                guard Logger.Level(name: level) != nil else {
                    throw UsageError(description: "--log-level must be debug, info, warning or error")
                }
                options.logLevel = level
            case "--help", "-h": options.action = .help
            case "--version": options.action = .version
            case "hash-key": options.action = .hashKey
            case "top": options.action = .top(url: "http://127.0.0.1:8000", key: nil, once: false)
            case "demo": options.action = .demo(port: 8000, rate: 1.0, duration: nil)
            case "--rate", "--duration":
                guard case .demo(let port, var rate, var duration) = options.action else {
                    throw UsageError(description: "\(flag) goes with demo (see --help)")
                }
                let text = try value(flag)
                guard let number = Double(text), number > 0, number.isFinite else {
                    throw UsageError(description: "\(flag) must be a positive number, got \(text)")
                }
                if flag == "--rate" { rate = number } else { duration = number }
                options.action = .demo(port: port, rate: rate, duration: duration)
            case "--url", "--key", "--once":
                guard case .top(var url, var key, var once) = options.action else {
                    throw UsageError(description: "\(flag) goes with top (see --help)")
                }
                switch flag {
                case "--url": url = try value(flag)
                case "--key": key = try value(flag)
                default: once = true
                }
                options.action = .top(url: url, key: key, once: once)
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
