import APITranslation
import Balancer
import Testing
import WireFormats

@Suite struct ChatRequestTranslationTests {
    func translate(_ json: String) throws -> ChatRequestTranslation {
        try ChatRequestTranslation.translate(try JSONParser.parse(json))
    }

    @Test func mapsToolsToolCallsAndToolResults() throws {
        let translation = try translate(
            """
            {"model":"ollama/llama3.1","tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],
             "messages":[{"role":"developer","content":"Use tools."},
                         {"role":"user","content":"Weather in Paris?"},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]},
                         {"role":"tool","tool_call_id":"call_1","content":"18C"}]}
            """)
        let body = translation.ollamaBody
        #expect(translation.model == "llama3.1")
        #expect(body["tools"]?[0]?["function"]?["name"] == "weather")
        let messages = try #require(body["messages"]?.arrayValue)
        #expect(messages[0]["role"] == "system")
        #expect(messages[2]["content"] == "")
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"] == ["city": "Paris"])
        #expect(messages[3]["tool_name"] == "weather")
    }

    @Test func mapsResponseFormats() throws {
        let json = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        #expect(json.ollamaBody["format"] == "json")
        let schema = try translate(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"}}}}"#
        )
        #expect(schema.ollamaBody["format"] == ["type": "object"])
        let text = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}"#)
        #expect(text.ollamaBody["format"] == nil)
    }

    /// As Ollama's `/v1` reads `response_format`: the type's case and spaces do not matter, a type it
    /// does not know and a `json_schema` without a schema mean no format; only what it cannot decode fails.
    @Test(
        arguments: [
            (#"{"type":" JSON_Object "}"#, JSONValue.string("json")),
            (#"{"type":"Json_Schema","json_schema":{"schema":{"type":"object"}}}"#, ["type": "object"]),
            (#"{"type":"json_schema"}"#, nil), (#"{"type":"json_schema","json_schema":{"name":"s"}}"#, nil),
            (#"{"type":"json_schema","json_schema":{"schema":"json"}}"#, "json"), (#"{"type":"grammar"}"#, nil), (#"{}"#, nil),
            (#"{"type":null}"#, nil),
        ] as [(String, JSONValue?)])
    func responseFormatsAreReadAsOllamaReadsThem(format: String, expected: JSONValue?) throws {
        let translation = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"# + format + "}")
        #expect(translation.ollamaBody["format"] == expected)
    }

    @Test(arguments: [#""json_object""#, #"{"type":3}"#, #"{"type":"json_schema","json_schema":{"schema":"yaml"}}"#])
    func responseFormatsOllamaCannotDecodeAreRefused(format: String) {
        #expect(throws: APIError.self) {
            try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"# + format + "}")
        }
    }

    @Test func streamDefaultsToFalseAsInOpenAI() throws {
        let translation = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        #expect(translation.stream == false)
        #expect(translation.ollamaBody["stream"] == false)
        // Sampling left out is Ollama's `/v1` default, not the model's.
        #expect(translation.ollamaBody["options"] == ["temperature": .double(1), "top_p": .double(1)])
        #expect(translation.ollamaBody["think"] == nil)
    }

    @Test(arguments: [
        (#""reasoning_effort":"none""#, JSONValue.bool(false)), (#""reasoning_effort":"minimal""#, "low"),
        (#""reasoning_effort":"low""#, "low"), (#""reasoning_effort":"medium""#, "medium"), (#""reasoning_effort":"high""#, "high"),
        (#""reasoning_effort":"max""#, "max"), (#""reasoning_effort":"xhigh""#, "max"), (#""reasoning_effort":"ultra""#, "max"),
        (#""reasoning":{"effort":"high"},"reasoning_effort":"none""#, "high"),
    ])
    func aReasoningEffortBecomesOllamasThink(field: String, think: JSONValue) throws {
        let translation = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],\#(field)}"#)
        #expect(translation.ollamaBody["think"] == think)
    }

    @Test func logprobsAreAskedOfOllamaAsTheyCame() throws {
        let translation = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":3}"#)
        #expect(translation.ollamaBody["logprobs"] == true)
        #expect(translation.ollamaBody["top_logprobs"] == 3)
    }

    @Test func samplingTheClientSetIsKept() throws {
        let translation = try translate(#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":0.5}"#)
        #expect(translation.ollamaBody["options"] == ["temperature": .int(0), "top_p": .double(0.5)])
    }

    @Test(arguments: [
        (
            #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{bad"}}]}]}"#,
            "invalid tool call arguments"
        ),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"audio","x":1}]}]}"#, "invalid message format"),
        (
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/plain;base64,aGk="}}]}]}"#,
            "invalid image input"
        ),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}"#, "stop must be a string or an array of strings"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, "max_tokens must be an integer"),
        (#"{"model":"m","messages":[{"role":"user"}]}"#, "messages[0].content is required"),
        (#"{"model":7,"messages":[]}"#, "model must be a string"),
        (
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"}"#,
            #"invalid reasoning value: 'extreme' (must be "none", "minimal", "low", "medium", "high", "max", "xhigh" or "ultra")"#
        ),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":1}"#, "reasoning_effort must be a string"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning":"high"}"#, "reasoning must be an object"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":21}"#, "top_logprobs must be between 0 and 20"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":"yes"}"#, "logprobs must be a boolean"),
    ])
    func refusesWhatOllamaWouldRefuse(json: String, message: String) {
        #expect(throws: APIError.self) { try translate(json) }
        do { _ = try translate(json) } catch { #expect((error as? APIError)?.message == message) }
    }
}

@Suite struct ChatResponseTranslationTests {
    @Test func toolCallsBecomeOpenAIToolCallsWithFinishReasonToolCalls() throws {
        var translator = ChatResponseTranslation(model: "llama3.1", includeUsage: false, created: 1_700_000_000, id: "chatcmpl-x")
        let answer = try JSONParser.parse(
            #"{"model":"llama3.1","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Paris"}}}]},"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":5}"#
        )
        let completion = translator.completion(from: answer)
        let call = try #require(completion["choices"]?[0]?["message"]?["tool_calls"]?[0])
        #expect(call["type"] == "function")
        #expect(call["function"]?["name"] == "weather")
        #expect(call["function"]?["arguments"] == #"{"city":"Paris"}"#)
        #expect(call["id"]?.stringValue?.hasPrefix("call_") == true)
        #expect(completion["choices"]?[0]?["finish_reason"] == "tool_calls")
        #expect(completion["usage"] == ["prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15])
    }

    @Test func theDoneChunkBecomesAFinishChunkThenDone() throws {
        var translator = ChatResponseTranslation(model: "m", includeUsage: false, created: 1, id: "chatcmpl-x")
        let events = translator.events(
            for: try JSONParser.parse(#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"length"}"#))
        let text = String(decoding: events, as: UTF8.self)
        #expect(text.hasSuffix("data: [DONE]\n\n"))
        #expect(text.contains(#""finish_reason":"length""#))
    }

    /// Ollama's `logprobs` (per token, with the alternatives asked for) become each choice's
    /// `logprobs.content`, in a whole answer and in each chunk of a stream.
    @Test func tokenLogprobsBecomeTheChoicesLogprobsContent() throws {
        let tokens = #"[{"token":"Hi","logprob":-0.1,"top_logprobs":[{"token":"Hi","logprob":-0.1},{"token":"Hey","logprob":-2.5}]}]"#
        var translator = ChatResponseTranslation(model: "m", includeUsage: false, created: 1, id: "chatcmpl-x")
        let answer = try JSONParser.parse(
            #"{"message":{"role":"assistant","content":"Hi"},"logprobs":\#(tokens),"done":true,"done_reason":"stop"}"#)
        let expected = try JSONParser.parse(tokens)
        #expect(translator.completion(from: answer)["choices"]?[0]?["logprobs"] == ["content": expected])
        let events = translator.events(
            for: try JSONParser.parse(#"{"message":{"role":"assistant","content":"Hi"},"logprobs":\#(tokens),"done":false}"#))
        let event = try JSONParser.parse(Array(String(decoding: events, as: UTF8.self).dropFirst("data: ".count).utf8))
        #expect(event["choices"]?[0]?["logprobs"] == ["content": expected])
        // Without them, no `logprobs` key.
        let plain = try JSONParser.parse(#"{"message":{"role":"assistant","content":"Hi"},"done":true,"done_reason":"stop"}"#)
        #expect(translator.completion(from: plain)["choices"]?[0]?["logprobs"] == nil)
    }
}

@Suite struct JSONSpliceTests {
    @Test func prependsAFieldWithoutTouchingTheRest() throws {
        let body = Array(#"  {"model":"llama3.2","messages":[{"role":"user","content":"hi \u00e9"}]}"#.utf8)
        let spliced = JSONSplice.prependingField("keep_alive", "30m", to: body)
        #expect(
            String(decoding: spliced, as: UTF8.self)
                == #"  {"keep_alive":"30m","model":"llama3.2","messages":[{"role":"user","content":"hi \u00e9"}]}"#)
        #expect(
            String(decoding: JSONSplice.prependingField("keep_alive", -1, to: Array("{ }".utf8)), as: UTF8.self) == #"{"keep_alive":-1 }"#)
    }
}
