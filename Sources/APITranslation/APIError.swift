import Balancer
import WireFormats

/// An error answered to a client, rendered in the shape that client's API uses: OpenAI's
/// `{"error":{"message","type","param","code"}}` on `/v1`, Ollama's `{"error":"..."}` on `/api`.
package struct APIError: Error, Equatable {
    package var status: Int
    package var message: String
    package var param: String?
    package var code: String?
    /// Seconds, for 429 and 503 answers.
    package var retryAfter: Int?

    package init(status: Int, _ message: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    package var openAIType: String {
        switch status {
        case 400, 404, 405, 413, 415, 422, 431: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 429: return "rate_limit_error"
        default: return "api_error"
        }
    }

    package var openAIBody: JSONValue {
        [
            "error": [
                "message": .string(message), "type": .string(openAIType), "param": param.map { .string($0) } ?? .null,
                "code": code.map { .string($0) } ?? .null,
            ]
        ]
    }

    package var ollamaBody: JSONValue { ["error": .string(message)] }

    package static func badRequest(_ message: String, param: String? = nil) -> APIError {
        APIError(status: 400, message, param: param)
    }
}
