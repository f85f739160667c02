import APITranslation
import Synchronization
import Testing
import WireFormats

/// An Ollama `/api/chat` request sent to a cloud endpoint in OpenAI's fields, and the cloud's
/// answer brought back in Ollama's: whole, and streamed in any chunking the cloud's bytes arrive in.
@Suite struct OllamaCloudTranslationTests {
    private func fields(_ json: String) throws -> JSONObject { try #require(try JSONParser.parse(Array(json.utf8)).objectValue) }

    @Test func theRequestTakesOpenAIsFields() throws {
        let request = try fields(
            #"""
            {"model":"hybrid","stream":false,"keep_alive":"5m","think":true,"format":"json",
             "options":{"num_predict":50,"temperature":0.2,"top_p":0.9,"seed":7,"stop":"END","num_ctx":8192},
             "tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],
             "messages":[
              {"role":"system","content":"be brief"},
              {"role":"user","content":"what is this?","images":["iVBORw0KGgo=","/9j/4AAQ"]},
              {"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Oslo"}}}]},
              {"role":"tool","tool_name":"weather","content":"cold"}]}
            """#)
        let out = JSONValue.object(try OllamaRequestForCloud.chatFields(request, stream: false))
        #expect(out["model"] == nil && out["keep_alive"] == nil && out["think"] == nil && out["options"] == nil)
        #expect(out["max_tokens"] == 50 && out["temperature"] == 0.2 && out["top_p"] == 0.9 && out["seed"] == 7)
        #expect(out["stop"] == ["END"])
        #expect(out["response_format"] == ["type": "json_object"])
        #expect(out["stream"] == false && out["stream_options"] == nil)
        #expect(out["tools"]?[0]?["function"]?["name"] == "weather")
        let messages = try #require(out["messages"]?.arrayValue)
        #expect(messages[0] == ["role": "system", "content": "be brief"])
        #expect(messages[1]["content"]?[0] == ["type": "text", "text": "what is this?"])
        #expect(messages[1]["content"]?[1]?["image_url"]?["url"] == "data:image/png;base64,iVBORw0KGgo=")
        #expect(messages[1]["content"]?[2]?["image_url"]?["url"] == "data:image/jpeg;base64,/9j/4AAQ")
        let call = try #require(messages[2]["tool_calls"]?[0])
        #expect(call["type"] == "function" && call["function"]?["name"] == "weather")
        // OpenAI takes the arguments as a JSON string, and a tool result names the call it answers.
        #expect(call["function"]?["arguments"] == #"{"city":"Oslo"}"#)
        #expect(messages[2]["content"] == .null)
        #expect(messages[3]["role"] == "tool" && messages[3]["tool_call_id"] == call["id"] && call["id"]?.stringValue?.isEmpty == false)
    }

    @Test func toolResultsAnswerTheCallsInTurn() throws {
        let request = try fields(
            #"""
            {"messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":{}}},{"function":{"name":"b","arguments":{}}},{"function":{"name":"a","arguments":{}}}]},
             {"role":"tool","tool_name":"b","content":"1"},{"role":"tool","content":"2"},{"role":"tool","tool_name":"a","content":"3"}]}
            """#)
        let messages = try #require(JSONValue.object(try OllamaRequestForCloud.chatFields(request, stream: false))["messages"]?.arrayValue)
        let ids = try #require(messages[0]["tool_calls"]?.arrayValue).map { $0["id"] }
        // By name where the result names its tool, else the first call not yet answered.
        #expect(messages[1]["tool_call_id"] == ids[1] && messages[2]["tool_call_id"] == ids[0] && messages[3]["tool_call_id"] == ids[2])
        #expect(Set(ids.compactMap { $0?.stringValue }).count == 3)
    }

    @Test func aStreamAsksForItsUsageAndASchemaIsAJSONSchema() throws {
        let request = try fields(#"{"messages":[{"role":"user","content":"hi"}],"format":{"type":"object"}}"#)
        let out = JSONValue.object(try OllamaRequestForCloud.chatFields(request, stream: true))
        #expect(out["stream_options"] == ["include_usage": true])
        #expect(out["response_format"]?["type"] == "json_schema")
        #expect(out["response_format"]?["json_schema"]?["schema"] == ["type": "object"])
    }

    @Test func aGeneratesSystemAndPromptAreAChatsFirstTurns() throws {
        let request = try fields(#"{"system":"be brief","prompt":"what is this?","images":["R0lGOD"],"raw":true,"context":[1,2]}"#)
        let out = JSONValue.object(try OllamaRequestForCloud.generateFields(request, stream: false))
        #expect(out["messages"]?[0] == ["role": "system", "content": "be brief"])
        #expect(out["messages"]?[1]?["content"]?[1]?["image_url"]?["url"] == "data:image/gif;base64,R0lGOD")
        #expect(out["raw"] == nil && out["context"] == nil && out["messages"]?.arrayValue?.count == 2)
        #expect(throws: APIError.self) { try OllamaRequestForCloud.generateFields(try fields(#"{"prompt":5}"#), stream: false) }
    }

    @Test func aGeneratesAnswerIsInResponse() throws {
        var answer = OllamaAnswerFromOpenAI(model: "m", isGenerate: true, timestamp: { "t" }, elapsedNanoseconds: { 1 })
        let whole = try JSONParser.parse(
            answer.whole(try JSONParser.parse(Array(#"{"choices":[{"message":{"content":"blue"},"finish_reason":"stop"}]}"#.utf8))))
        #expect(whole["response"] == "blue" && whole["message"] == nil && whole["done"] == true)
        var streamed = OllamaAnswerFromOpenAI(model: "m", isGenerate: true, timestamp: { "t" }, elapsedNanoseconds: { 1 })
        let line = try JSONParser.parse(
            streamed.lines(for: try JSONParser.parse(Array(#"{"choices":[{"delta":{"content":"bl"}}]}"#.utf8))))
        #expect(line == ["model": "m", "created_at": "t", "response": "bl", "done": false])
    }

    @Test(
        arguments: [
            (#""think":"low""#, "low"), (#""think":"high""#, "high"), (#""think":"max""#, "xhigh"), (#""think":true"#, nil),
            (#""think":false"#, nil),
        ] as [(String, String?)])
    func aThinkingLevelIsTheReasoningEffort(think: String, effort: String?) throws {
        let request = try fields(#"{"messages":[{"role":"user","content":"hi"}],"# + think + "}")
        let out = JSONValue.object(try OllamaRequestForCloud.chatFields(request, stream: false))
        #expect(out["reasoning_effort"] == effort.map { .string($0) }, "\(out)")
        #expect(out["think"] == nil)
    }

    @Test func logprobsAreAskedForAndComeBackInOllamasField() throws {
        let asked = try fields(#"{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":2}"#)
        let out = JSONValue.object(try OllamaRequestForCloud.chatFields(asked, stream: false))
        #expect(out["logprobs"] == true && out["top_logprobs"] == 2)
        // OpenAI refuses top_logprobs without logprobs; Ollama ignores it.
        let topOnly = try fields(#"{"messages":[{"role":"user","content":"hi"}],"top_logprobs":2}"#)
        let plain = JSONValue.object(try OllamaRequestForCloud.chatFields(topOnly, stream: false))
        #expect(plain["logprobs"] == nil && plain["top_logprobs"] == nil)
        let tooMany = try fields(#"{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":21}"#)
        #expect(throws: APIError.self) { try OllamaRequestForCloud.chatFields(tooMany, stream: false) }

        let entry = #"{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[{"token":"Hi","logprob":-0.1,"bytes":[72,105]}]}"#
        var whole = translator()
        let answer = try JSONParser.parse(
            whole.whole(
                try JSONParser.parse(
                    Array(#"{"choices":[{"message":{"content":"Hi"},"logprobs":{"content":["#.utf8) + Array(entry.utf8)
                        + Array(#"]},"finish_reason":"stop"}]}"#.utf8))))
        #expect(answer["logprobs"] == .array([try JSONParser.parse(Array(entry.utf8))]), "\(answer)")
        var streamed = translator()
        let line = try JSONParser.parse(
            streamed.lines(
                for: try JSONParser.parse(
                    Array(#"{"choices":[{"delta":{"content":"Hi"},"logprobs":{"content":["#.utf8) + Array(entry.utf8) + Array("]}}]}".utf8))
            ))
        #expect(line["logprobs"] == .array([try JSONParser.parse(Array(entry.utf8))]) && line["message"]?["content"] == "Hi")
    }

    @Test func theDurationsSplitAtTheStreamsFirstEvent() throws {
        // The clock reads 100 ns at the first event and 250 ns at the end.
        let readings = Mutex<[Int64]>([100, 250])
        var streamed = OllamaAnswerFromOpenAI(
            model: "m", timestamp: { "t" }, elapsedNanoseconds: { readings.withLock { $0.removeFirst() } })
        _ = streamed.lines(for: try JSONParser.parse(Array(#"{"choices":[{"delta":{"content":"Hi"}}]}"#.utf8)))
        _ = streamed.lines(for: try JSONParser.parse(Array(#"{"choices":[{"delta":{"content":"!"}}]}"#.utf8)))
        let lines = String(decoding: streamed.finish(), as: UTF8.self).split(separator: "\n")
        let last = try JSONParser.parse(Array((lines.last ?? "").utf8))
        #expect(last["total_duration"] == 250 && last["prompt_eval_duration"] == 100 && last["eval_duration"] == 150, "\(last)")
        // A whole answer shows no split: all of it is generation.
        var whole = translator()
        let answer = try JSONParser.parse(
            whole.whole(try JSONParser.parse(Array(#"{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}]}"#.utf8))))
        #expect(answer["total_duration"] == 42 && answer["prompt_eval_duration"] == 0 && answer["eval_duration"] == 42)
    }

    @Test func messagesThatAreNoListAreRefused() throws {
        #expect(throws: APIError.self) { try OllamaRequestForCloud.chatFields(try fields(#"{"messages":"hi"}"#), stream: false) }
        #expect(throws: APIError.self) { try OllamaRequestForCloud.chatFields(try fields(#"{"messages":[1]}"#), stream: false) }
    }

    private func translator() -> OllamaAnswerFromOpenAI {
        OllamaAnswerFromOpenAI(model: "hybrid", timestamp: { "2026-12-06T21:00:00.000Z" }, elapsedNanoseconds: { 42 })
    }

    @Test func toolCallFragmentsWithoutAnIndexFollowTheirID() throws {
        var answer = translator()
        let chunks = [
            #"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}}]}"#,
            #"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}"#,
            #"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]}"#,
        ]
        _ = answer.lines(for: try chunks.map { try JSONParser.parse(Array($0.utf8)) })
        let lines = String(decoding: answer.finish(), as: UTF8.self).split(separator: "\n")
        let calls = try JSONParser.parse(Array(lines[0].utf8))["message"]?["tool_calls"]
        #expect(calls?[0] == ["function": ["name": "f", "arguments": ["x": 1]], "id": "a"])
        #expect(calls?[1] == ["function": ["name": "g", "arguments": [:]], "id": "b"])
    }

    @Test func aWholeAnswerIsOllamas() throws {
        var answer = translator()
        let openAI = try JSONParser.parse(
            Array(
                #"""
                {"id":"c","object":"chat.completion","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
                 "content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Oslo\"}"}}]}}],
                 "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}
                """#.utf8))
        let out = try JSONParser.parse(answer.whole(openAI))
        #expect(out["model"] == "hybrid" && out["created_at"] == "2026-12-06T21:00:00.000Z")
        #expect(out["message"]?["role"] == "assistant" && out["message"]?["content"] == "")
        #expect(out["message"]?["tool_calls"]?[0] == ["function": ["name": "weather", "arguments": ["city": "Oslo"]], "id": "call_9"])
        #expect(out["done"] == true && out["done_reason"] == "stop")
        #expect(out["prompt_eval_count"] == 12 && out["eval_count"] == 5 && out["total_duration"] == 42)
    }

    static let stream = CloudStreamFixture.events(finishReason: "length")

    /// The stream as NDJSON, the cloud's bytes cut after `split` bytes, with `newline` ending lines.
    private func translated(split: Int, newline: String) -> [JSONValue] {
        let out = CloudStreamFixture.reshaped(translator(), Self.stream, split: split, newline: newline)
        return String(decoding: out, as: UTF8.self).split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
    }

    @Test func aStreamIsOllamasLinesWhereverTheBytesAreCut() throws {
        let whole = translated(split: 0, newline: "\n")
        #expect(whole.count == 5, "\(whole)")
        #expect(whole[0]["message"]?["thinking"] == "hm" && whole[0]["done"] == false)
        #expect(whole[1]["message"]?["content"] == "Hel" && whole[2]["message"]?["content"] == "lo ✓")
        // The tool call's fragments come out whole, its arguments an object, on the line before the last.
        #expect(
            whole[3]["message"]?["tool_calls"]?[0] == ["function": ["name": "weather", "arguments": ["city": "Oslo"]], "id": "call_1"])
        #expect(whole[4]["done"] == true && whole[4]["done_reason"] == "length")
        #expect(whole[4]["prompt_eval_count"] == 9 && whole[4]["eval_count"] == 4)
        for (split, newline) in CloudStreamFixture.splits(of: Self.stream) {
            #expect(translated(split: split, newline: newline) == whole, "split at \(split)")
        }
    }
}
