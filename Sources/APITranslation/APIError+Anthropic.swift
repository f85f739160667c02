import WireFormats

extension APIError {
    /// The Anthropic Messages API's error type for this status, as Ollama's `/v1/messages` names it.
    package var anthropicType: String {
        switch status {
        case 400, 405, 413, 415, 422, 431: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        default: return "api_error"
        }
    }

    /// Anthropic's `{"type":"error","error":{"type","message"}}`, which its clients read on `/v1/messages`.
    package var anthropicBody: JSONValue {
        ["type": "error", "error": ["type": .string(anthropicType), "message": .string(message)]]
    }
}
