import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// `POST /v1/messages` → the node's own `/v1/messages`: Ollama translates the Anthropic
    /// Messages API itself, so TensorWall places the request like any for its model (a
    /// conversation's next turn on the node with its prompt cache), relays the node's bytes (a
    /// stream's events as they come) and answers its own errors in Anthropic's shape. Anthropic's
    /// clients send their key as `x-api-key`, which TensorWall reads. A route's cloud targets (or a
    /// cloud endpoint that lists the model) take it in OpenAI's form, their answer brought back in
    /// Anthropic's (`AnthropicRequestForCloud`, `AnthropicAnswerFromOpenAI`).
    func anthropicMessages(_ request: HTTPRequest, _ writer: HTTPResponseWriter, _ record: inout AccessRecord) async {
        let conversation = { (model: ModelName, fields: JSONObject) in ConversationKeys(model: model.canonical, anthropicRequest: fields) }
        await routedRequest(
            request, writer, &record, dialect: .anthropic, cloudPath: nil,
            reshapedCloudCall: { fields, stream, model in CloudCall.anthropicMessages(fields, stream: stream, requested: model) },
            sendsNameAsWritten: true, conversation: conversation
        ) {
            fields in try Self.passedThrough(fields, to: "/v1/messages") { EventStreamPassThrough(.anthropicMessages) }
        }
    }
}
