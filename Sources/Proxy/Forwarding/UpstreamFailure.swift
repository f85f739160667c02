import APITranslation
import Balancer
import HTTP1

/// How an attempt on an upstream (an Ollama node or a cloud endpoint) ended without a full
/// answer. It is decided once, where the failure is seen, and then read twice: by passive health
/// (`healthSignal`) and by the client (`clientError`). Nothing downstream matches on messages.
enum UpstreamFailure: Error, Equatable {
    /// No connection: refused, reset or unreachable while connecting, or the connect timed out.
    /// Nothing was sent, so any other holder may take the request at no cost.
    case connectFailed(String)
    /// The request was sent but no response head came: a timeout, or the connection closed first.
    case noFirstByte(String)
    /// The request was sent, and while it waited for a response head the probes took the node out
    /// of service (it hangs, or is gone). Nothing reached the client: another node may serve it.
    case nodeLeftService(String)
    /// The load the request waited for ran far past its prediction and was given up
    /// (`StuckLoadWatch`): the node's loads look stuck, though it answers. Another node may serve it.
    case loadStuck(String)
    /// The upstream answered this error status before anything reached the client.
    case status(Int, String)
    /// The node has no route for the request's path (gin's `404 page not found`: an Ollama older
    /// than the API). It did nothing with the request, so another node may take it at no cost.
    case routeAbsent(String)
    /// The upstream said it is overloaded (Ollama's 503 "server busy", a runner's 503, a 429).
    case busy(Int, String)
    /// The answer started reaching the client and then broke off or ended in an in-band error.
    case cutMidStream(String)
    /// The client's own error (400, 413, 422...): no other upstream would answer differently.
    case clientError(Int, String)

    /// What an error status from a node means.
    static func fromStatus(_ status: Int, message: String) -> UpstreamFailure {
        switch status {
        case 400, 401, 403, 413, 422: return .clientError(status, message)
        case 429, 503: return .busy(status, message)
        default: return .status(status, message)
        }
    }

    /// What an exception from our HTTP client means: whether anything was sent decides.
    static func fromTransport(_ error: any Error, upstream: String) -> UpstreamFailure {
        if let exchange = error as? HTTPExchangeError {
            switch exchange {
            case .connect(let cause): return .connectFailed("\(upstream) unreachable: \(cause)")
            case .beforeResponse(let cause): return .noFirstByte("\(upstream) gave no answer: \(cause)")
            }
        }
        return .noFirstByte("\(upstream) gave no answer: \(error)")
    }

    /// Whether another upstream may still serve the request (nothing reached the client yet, and
    /// it was not the client's own mistake).
    var isRetryable: Bool {
        switch self {
        case .connectFailed, .noFirstByte, .nodeLeftService, .loadStuck, .status, .routeAbsent, .busy: return true
        case .cutMidStream, .clientError: return false
        }
    }

    /// A refused or failed connect costs nothing and proves nothing about the request, nor does a
    /// node the probes took out of service while the request waited on it, nor a load given up as
    /// stuck: trying the next holder does not use up the request's retry budget.
    var spendsRetry: Bool {
        switch self {
        case .connectFailed, .nodeLeftService, .loadStuck, .routeAbsent: return false
        default: return true
        }
    }

    /// What passive health learns; nil when the attempt says nothing about the upstream.
    var healthSignal: OutlierDetector.Signal? {
        switch self {
        case .connectFailed: return .refused
        case .nodeLeftService: return nil  // the probes have already taken it out
        case .loadStuck: return nil  // its loaded models still answer: no more loads is the remedy
        case .noFirstByte, .cutMidStream: return .failure
        case .busy: return .busy
        case .status(let status, _): return status == 404 ? nil : .failure  // 404: not pulled there, not broken
        case .routeAbsent: return nil  // an older Ollama, not a broken one
        case .clientError: return nil
        }
    }

    /// The error the client sees when no other upstream serves the request.
    var clientError: APIError {
        switch self {
        case .connectFailed(let message), .noFirstByte(let message), .nodeLeftService(let message), .loadStuck(let message):
            return APIError(status: 502, message)
        case .status(let status, let message):
            return APIError(status: status == 404 ? 404 : (status >= 500 ? status : 502), message)
        case .routeAbsent(let message): return APIError(status: 404, message)
        case .busy(let status, let message): return APIError(status: status, message, retryAfter: 1)
        case .cutMidStream(let message): return APIError(status: 502, message)
        case .clientError(let status, let message): return APIError(status: status, message)
        }
    }

    /// What the node actor learns.
    var requestOutcome: RequestOutcome {
        RequestOutcome.unserved(signal: healthSignal)
    }
}

extension UpstreamFailure: CustomStringConvertible {
    /// The failure in words for the log: its message, after the status where a node answered one.
    var description: String {
        switch self {
        case .connectFailed(let message), .noFirstByte(let message), .nodeLeftService(let message), .loadStuck(let message),
            .cutMidStream(let message), .routeAbsent(let message):
            return message
        case .status(let status, let message), .busy(let status, let message), .clientError(let status, let message):
            return "\(status) \(message)"
        }
    }
}
