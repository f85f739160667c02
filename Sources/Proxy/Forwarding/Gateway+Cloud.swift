import APITranslation
import Balancer
import Foundation
import HTTP1
import WireFormats

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension Gateway {
    /// Sends the client's OpenAI request, with the endpoint's model name, to a cloud endpoint and
    /// relays its answer as it arrives. The endpoint's key comes from the environment and is never
    /// logged or shown: errors name the variable, not its value.
    func serveFromCloud(_ endpoint: ClusterConfig.CloudEndpoint, model: String, call: CloudCall, writer: HTTPResponseWriter) async
        -> TargetResult
    {
        let stream = call.stream
        let servedBy = "cloud:\(endpoint.name)"
        var key: String?
        if let variable = endpoint.apiKeyEnv {
            guard let value = environment[variable], !value.isEmpty else {
                return .unavailable(
                    APIError(status: 503, "cloud endpoint \(endpoint.name) has no API key: \(variable) is not set"), spendsRetry: false)
            }
            key = value
        }
        let base = endpoint.url.hasSuffix("/") ? String(endpoint.url.dropLast()) : endpoint.url
        guard let url = URL(string: base + call.path) else {
            return .unavailable(APIError(status: 502, "cloud endpoint \(endpoint.name) has an unusable URL"), spendsRetry: false)
        }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue(call.contentType, forHTTPHeaderField: "Content-Type")
        request.setValue(stream ? "text/event-stream" : "application/json", forHTTPHeaderField: "Accept")
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        do { request.httpBody = Data(try call.body(model: model)) } catch { return .final(error, servedBy: servedBy) }

        let response: CloudResponse
        do {
            response = try await cloud.send(request)
        } catch {
            if Task.isCancelled { return .abandoned(servedBy: servedBy) }
            return .unavailable(
                APIError(status: 502, "cloud endpoint \(endpoint.name) unreachable: \(error.localizedDescription)"), spendsRetry: true)
        }
        if response.status != 200 {
            var bytes = Data()
            do {
                for try await piece in response.body where bytes.count < 1024 * 1024 { bytes.append(piece) }
            } catch {}
            let message =
                (try? JSONParser.parse([UInt8](bytes)))?["error"].flatMap(StreamChunkFacts.errorText)
                ?? "answered \(response.status)"
            switch response.status {
            case 401, 403:
                return .unavailable(
                    APIError(status: 502, "cloud endpoint \(endpoint.name) refused TensorWall's API key"), spendsRetry: true)
            case 400, 404, 413, 422:
                return .final(APIError(status: response.status, "cloud endpoint \(endpoint.name): \(message)"), servedBy: servedBy)
            default:
                return .unavailable(
                    APIError(status: response.status >= 500 ? 502 : response.status, "cloud endpoint \(endpoint.name): \(message)"),
                    spendsRetry: true)
            }
        }
        var contentType = response.contentType ?? (stream ? "text/event-stream" : "application/json")
        var reshaper = call.reshaper
        if let reshaper { contentType = stream ? reshaper.streamContentType : reshaper.wholeContentType }
        var usage = Usage()
        if !stream {
            // A whole answer is held before it is sent, so its size is bounded as a request's is.
            let limit = config.limits.maxBodyBytes
            var bytes = Data()
            do {
                for try await piece in response.body {
                    bytes.append(piece)
                    guard bytes.count <= limit else {
                        response.cancel()
                        return .unavailable(
                            APIError(
                                status: 502, "cloud endpoint \(endpoint.name) sent an answer over \(limit) bytes (limits.maxBodyBytes)"),
                            spendsRetry: true)
                    }
                }
            } catch {
                if Task.isCancelled { return .abandoned(servedBy: servedBy) }
                return .unavailable(
                    APIError(status: 502, "cloud endpoint \(endpoint.name) failed: \(error.localizedDescription)"), spendsRetry: true)
            }
            var body = [UInt8](bytes)
            // An API whose answer may be plain text (a transcription's) is relayed as the cloud labels
            // it, and counts no tokens.
            var answer: JSONValue?
            if call.wholeAnswerIsJSON {
                guard let parsed = try? JSONParser.parse(body), parsed.objectValue != nil else {
                    return .unavailable(
                        APIError(status: 502, "cloud endpoint \(endpoint.name) sent an answer that is not JSON"), spendsRetry: true)
                }
                if reshaper != nil {
                    guard let reshaped = reshaper?.reshapedWhole(parsed) else {
                        return .unavailable(
                            APIError(status: 502, "cloud endpoint \(endpoint.name) sent an answer without what the client's API needs"),
                            spendsRetry: true)
                    }
                    body = reshaped
                }
                answer = parsed
            }
            usage.firstByteAt = .now
            do {
                try await writer.respond(status: 200, headers: ["Content-Type": contentType], body: body)
            } catch {
                return .abandoned(servedBy: servedBy)
            }
            // Chat, completions and embeddings count `prompt_tokens`; the Responses API `input_tokens`.
            let counts = answer?["usage"]
            usage.promptTokens = counts?["prompt_tokens"]?.intValue ?? counts?["input_tokens"]?.intValue ?? 0
            usage.completionTokens = counts?["completion_tokens"]?.intValue ?? counts?["output_tokens"]?.intValue ?? 0
            usage.complete = true
            return .done(status: 200, usage: usage, servedBy: servedBy)
        }
        var events = ServerSentEventScanner(keepingEvents: reshaper != nil)
        /// Whether the client has been sent the whole answer as the cloud sent it: a client may close
        /// then (the `openai` Python package does at `data: [DONE]`), before the cloud's body ends.
        var delivered = false
        do {
            try await writer.start(status: 200, headers: ["Content-Type": contentType, "Cache-Control": "no-cache"])
            for try await piece in response.body {
                if usage.firstByteAt == nil { usage.firstByteAt = .now }
                events.scan(piece)
                if reshaper == nil {
                    try await writer.write([UInt8](piece))
                    delivered = events.isComplete
                } else if let reshaped = reshaper?.stream(events.takeEvents()), !reshaped.isEmpty {
                    try await writer.write(reshaped)
                }
            }
            events.finish()
            if let reshaped = reshaper?.stream(events.takeEvents()), !reshaped.isEmpty {
                try await writer.write(reshaped)
            }
        } catch {
            response.cancel()
            if !Task.isCancelled && !writer.isBroken {
                logger.warning("stream from cloud endpoint \(endpoint.name) broke: \(error.localizedDescription)")
            }
        }
        // A client that leaves cancels the read, which ends the body with or without an error. One
        // that left before it had the whole answer left (a 499), and the stream was not cut.
        if Task.isCancelled || writer.isBroken, !delivered {
            response.cancel()
            return .abandoned(servedBy: servedBy)
        }
        usage.promptTokens = events.promptTokens ?? 0
        usage.completionTokens = events.completionTokens ?? 0
        usage.complete = events.isComplete
        if reshaper != nil {
            // Reshaped, the stream ends as the client's API ends one, or with its error: the cloud's
            // own error event does not reach such a client as it came.
            if usage.complete, let end = reshaper?.finish() {
                try? await writer.write(end)
            } else {
                let message = events.errorMessage.map { "cloud endpoint \(endpoint.name): \($0)" }
                try? await writer.write(call.streamError(message ?? "cloud endpoint \(endpoint.name) failed mid-stream"))
            }
        } else if !usage.complete && events.errorMessage == nil {
            // Cut mid-way: the client hears it in-band, and the request is logged as failed.
            if !events.sawDone {
                try? await writer.write(call.streamError("cloud endpoint \(endpoint.name) failed mid-stream"))
            }
        }
        try? await writer.finish()
        return .done(status: 200, usage: usage, servedBy: servedBy)
    }
}
