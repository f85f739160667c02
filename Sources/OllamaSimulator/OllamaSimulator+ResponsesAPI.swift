import Foundation
import WireFormats

extension OllamaSimulator {
    /// A Responses API `input` as chat messages: a string is the user's turn; a list's items with a
    /// role keep it, their content a string or `input_text`/`output_text` parts.
    static func responsesMessages(_ body: JSONValue) -> [JSONValue] {
        var messages: [JSONValue] = []
        if let instructions = body["instructions"]?.stringValue { messages.append(["role": "system", "content": .string(instructions)]) }
        if let text = body["input"]?.stringValue { return messages + [["role": "user", "content": .string(text)]] }
        for item in body["input"]?.arrayValue ?? [] {
            guard let role = item["role"]?.stringValue else { continue }
            messages.append(["role": .string(role), "content": .string(text(of: item["content"]))])
        }
        return messages
    }

    /// A turn's text in the Responses and Anthropic APIs: a string, or its parts' texts joined.
    static func text(of content: JSONValue?) -> String {
        content?.stringValue ?? (content?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
    }

    /// One event of a Responses API stream, as Ollama writes it: the type named twice, in the
    /// `event` line and in the data.
    func responsesEvent(_ type: String, _ fields: JSONObject) -> [UInt8] {
        var data = fields
        data["type"] = .string(type)
        return Array("event: \(type)\ndata: ".utf8) + configuration.encoding.encode(.object(data)) + Array("\n\n".utf8)
    }

    /// A Responses API `response` object: in progress, or completed with its one message and usage.
    func responseObject(_ model: String, status: String, text: String? = nil, metrics: Metrics? = nil) -> JSONValue {
        var object: JSONObject = [
            "id": "resp_42", "object": "response", "created_at": .int(Int64(Date().timeIntervalSince1970)), "status": .string(status),
            "model": .string(model), "error": nil, "output": [],
        ]
        if let text {
            object["output"] = [
                [
                    "id": "msg_42", "type": "message", "status": "completed", "role": "assistant",
                    "content": [["type": "output_text", "text": .string(text), "annotations": []]],
                ]
            ]
        }
        if let metrics {
            object["usage"] = [
                "input_tokens": .int(Int64(metrics.promptTokens)), "output_tokens": .int(Int64(metrics.evalTokens)),
                "total_tokens": .int(Int64(metrics.promptTokens + metrics.evalTokens)),
            ]
        }
        return .object(object)
    }
}
