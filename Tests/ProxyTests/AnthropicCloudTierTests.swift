import Balancer
import HTTP1
import OllamaSimulator
import Testing
import WireFormats

@testable import Proxy

/// `/v1/messages` reaching the cloud tier: a route's cloud targets, or a model a cloud endpoint
/// lists, serve an Anthropic client. The request goes out in OpenAI's fields and the answer comes
/// back as Anthropic's message, or its events.
@Suite(.stopsFarms) struct AnthropicCloudTierTests {
    static let secret = "sk-test-anthropic-cloud"

    func farm(cloud: SimulatedCloud) async throws -> TestFarm { try await cloud.farm(cloudOnly: "claude-route", key: Self.secret) }

    @Test func aWholeMessageFromTheCloudIsAnthropics() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let answer = try await farm.json(
            "POST", "/v1/messages",
            body: #"{"model":"claude-route","max_tokens":3,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.headers["Content-Type"] == "application/json")
        #expect(answer.body["type"] == "message" && answer.body["role"] == "assistant" && answer.body["model"] == "claude-route")
        #expect(answer.body["id"]?.stringValue?.hasPrefix("msg_") == true)
        #expect(answer.body["content"]?[0]?["type"] == "text")
        #expect(answer.body["content"]?[0]?["text"]?.stringValue?.isEmpty == false)
        #expect(answer.body["stop_reason"] == "max_tokens" && answer.body["usage"]?["output_tokens"] == 3)
        let sent = try #require(cloud.simulator.lastBody("/v1/chat/completions"))
        #expect(sent["model"] == "gpt-4" && sent["max_tokens"] == 3)
        #expect(sent["messages"] == [["role": "system", "content": "be brief"], ["role": "user", "content": "hi"]])
        #expect(cloud.simulator.lastAuthorization("/v1/chat/completions") == "Bearer \(Self.secret)")
    }

    @Test func aStreamFromTheCloudIsAnthropicsEvents() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        let streamed = try await farm.text(
            "POST", "/v1/messages", body: #"{"model":"hybrid","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(streamed.status == 200)
        #expect(streamed.headers["Content-Type"] == "text/event-stream")
        let types = streamed.body.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(types.first == "message_start" && types.last == "message_stop", "\(streamed.body)")
        #expect(types.contains("content_block_start") && types.contains("content_block_delta") && types.contains("message_delta"))
        let delta = try #require(streamed.body.split(separator: "\n").first { $0.hasPrefix("data: ") && $0.contains("message_delta") })
        let event = try JSONParser.parse(Array(delta.dropFirst(6).utf8))
        #expect(event["delta"]?["stop_reason"] == "end_turn" && (event["usage"]?["output_tokens"]?.intValue ?? 0) > 0, "\(event)")
        #expect(cloud.simulator.lastBody("/v1/chat/completions")?["stream"] == true)
    }

    @Test func aCloudThatRefusesIsAnsweredInAnthropicsShapeWithoutItsKey() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await farm(cloud: cloud)
        // The cloud refuses a request with no messages: the client reads Anthropic's error.
        let refused = try await farm.json("POST", "/v1/messages", body: #"{"model":"claude-route","max_tokens":8,"messages":[]}"#)
        #expect(refused.status == 400, "\(refused.body)")
        #expect(refused.body["type"] == "error" && refused.body["error"]?["type"] == "invalid_request_error", "\(refused.body)")
        #expect(!String(decoding: refused.body.serialized(), as: UTF8.self).contains(Self.secret))
        // A body TensorWall cannot put in OpenAI's fields, for a route only the cloud serves.
        let malformed = try await farm.json(
            "POST", "/v1/messages", body: #"{"model":"claude-route","max_tokens":8,"messages":[{"role":"system","content":"x"}]}"#)
        #expect(malformed.status == 400)
        #expect(malformed.body["error"]?["message"]?.stringValue?.contains("'user' or 'assistant'") == true, "\(malformed.body)")
        // A model the farm has stays on the farm.
        let local = try await farm.json(
            "POST", "/v1/messages", body: #"{"model":"llama3.2","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(local.status == 200 && local.body["type"] == "message")
        #expect(cloud.simulator.requestCount("/v1/chat/completions") == 1)
    }
}
