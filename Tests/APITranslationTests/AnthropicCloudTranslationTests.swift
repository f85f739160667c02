import APITranslation
import Testing
import WireFormats

/// An Anthropic Messages API request sent to a cloud endpoint in OpenAI's fields, and the cloud's
/// answer brought back as Anthropic's message or events, whatever the chunking of the cloud's bytes.
@Suite struct AnthropicCloudTranslationTests {
    private func fields(_ json: String) throws -> JSONObject { try #require(try JSONParser.parse(Array(json.utf8)).objectValue) }

    @Test func theRequestTakesOpenAIsFields() throws {
        let request = try fields(
            #"""
            {"model":"claude-route","max_tokens":100,"system":[{"type":"text","text":"be brief"}],"stop_sequences":["END"],
             "temperature":0.3,"top_k":5,"metadata":{"user_id":"u"},"tool_choice":{"type":"any"},
             "tools":[{"name":"weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}],
             "messages":[
              {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4A"}}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Oslo"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"cold"}]},{"type":"text","text":"and tomorrow?"}]}]}
            """#)
        let out = JSONValue.object(try AnthropicRequestForCloud.chatFields(request, stream: false))
        #expect(out["max_tokens"] == 100 && out["temperature"] == 0.3 && out["stop"] == ["END"])
        #expect(out["top_k"] == nil && out["metadata"] == nil && out["system"] == nil && out["stream_options"] == nil)
        #expect(out["tool_choice"] == "required")
        #expect(out["tools"]?[0]?["function"]?["parameters"]?["properties"]?["city"] == ["type": "string"])
        let messages = try #require(out["messages"]?.arrayValue)
        #expect(messages.count == 5, "\(messages)")
        #expect(messages[0] == ["role": "system", "content": "be brief"])
        #expect(messages[1]["content"]?[1]?["image_url"]?["url"] == "data:image/jpeg;base64,/9j/4A")
        #expect(messages[2]["content"] == .null)
        #expect(messages[2]["tool_calls"]?[0]?["id"] == "toolu_1")
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"] == #"{"city":"Oslo"}"#)
        #expect(messages[3] == ["role": "tool", "tool_call_id": "toolu_1", "content": "cold"])
        #expect(messages[4] == ["role": "user", "content": "and tomorrow?"])
    }

    @Test func badMessagesAreRefusedInItsWords() throws {
        #expect(throws: APIError.self) { try AnthropicRequestForCloud.chatFields(try fields(#"{"max_tokens":5}"#), stream: false) }
        #expect(throws: APIError.self) {
            try AnthropicRequestForCloud.chatFields(try fields(#"{"messages":[{"role":"system","content":"x"}]}"#), stream: false)
        }
        #expect(throws: APIError.self) {
            try AnthropicRequestForCloud.chatFields(try fields(#"{"messages":[{"role":"user","content":5}]}"#), stream: false)
        }
    }

    @Test func toolCallFragmentsWithoutAnIndexFollowTheirID() throws {
        var answer = AnthropicAnswerFromOpenAI(model: "m", id: "msg_1")
        let chunks = [
            #"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}"#,
            #"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}"#,
            #"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
        ]
        let out = String(
            decoding: answer.events(for: try chunks.map { try JSONParser.parse(Array($0.utf8)) }) + answer.finish(), as: UTF8.self)
        let starts = out.split(separator: "\n").filter { $0.contains("\"content_block_start\"") }
        #expect(starts.count == 2 && starts[0].contains("\"id\":\"a\"") && starts[1].contains("\"id\":\"b\""), "\(out)")
    }

    @Test func aWholeAnswerIsAMessage() throws {
        var answer = AnthropicAnswerFromOpenAI(model: "claude-route", id: "msg_1")
        let openAI = try JSONParser.parse(
            Array(
                #"""
                {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Let me look.",
                 "tool_calls":[{"id":"call_9","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],
                 "usage":{"prompt_tokens":12,"completion_tokens":5}}
                """#.utf8))
        let out = try JSONParser.parse(answer.whole(openAI))
        #expect(out["id"] == "msg_1" && out["type"] == "message" && out["role"] == "assistant" && out["model"] == "claude-route")
        #expect(out["content"]?[0] == ["type": "text", "text": "Let me look."])
        #expect(out["content"]?[1] == ["type": "tool_use", "id": "call_9", "name": "weather", "input": ["city": "Oslo"]])
        #expect(out["stop_reason"] == "tool_use" && out["usage"] == ["input_tokens": 12, "output_tokens": 5])
    }

    /// Anthropic's events (name and data) for the stream, the cloud's bytes cut after `split` bytes.
    private func translated(split: Int, newline: String) -> [(name: String, data: JSONValue)] {
        let answer = AnthropicAnswerFromOpenAI(model: "m", id: "msg_1")
        let out = CloudStreamFixture.reshaped(answer, Self.stream, split: split, newline: newline)
        var events: [(name: String, data: JSONValue)] = []
        var name = ""
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: "), let data = try? JSONParser.parse(Array(line.dropFirst(6).utf8)) { events.append((name, data)) }
        }
        return events
    }

    static let stream = CloudStreamFixture.events(finishReason: "tool_calls")

    @Test func aStreamIsAnthropicsEventsWhereverTheBytesAreCut() throws {
        let events = translated(split: 0, newline: "\n")
        #expect(
            events.map(\.name) == [
                "message_start", "content_block_start", "content_block_delta", "content_block_stop", "content_block_start",
                "content_block_delta", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta",
                "content_block_delta", "content_block_stop", "message_delta", "message_stop",
            ], "\(events)")
        #expect(events.allSatisfy { $0.data["type"]?.stringValue == $0.name })
        #expect(events[1].data["content_block"]?["type"] == "thinking" && events[2].data["delta"]?["thinking"] == "hm")
        #expect(events[4].data["index"] == 1 && events[5].data["delta"]?["text"] == "Hel")
        #expect(events[8].data["content_block"]?["id"] == "call_1" && events[8].data["content_block"]?["name"] == "weather")
        let json = events[9...10].compactMap { $0.data["delta"]?["partial_json"]?.stringValue }.joined()
        #expect(json == #"{"city":"Oslo"}"#)
        #expect(events[12].data["delta"]?["stop_reason"] == "tool_use")
        #expect(events[12].data["usage"] == ["input_tokens": 9, "output_tokens": 4])
        for (split, newline) in CloudStreamFixture.splits(of: Self.stream) {
            let cut = translated(split: split, newline: newline)
            #expect(cut.map(\.name) == events.map(\.name) && cut.map(\.data) == events.map(\.data), "split at \(split)")
        }
    }
}
