import APITranslation
import Balancer
import HTTP1
import WireFormats

extension Gateway {
    /// Reads a whole (not streamed) answer, translates it for the client and sends it in one piece.
    func relayCompletion(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        let raw: [UInt8]
        do {
            raw = try await response.collect()
        } catch {
            if Task.isCancelled { return .clientLeft }
            return .failed(.noFirstByte("node \(node.name) sent an incomplete answer: \(error)"), usage: Usage())
        }
        if translator.passesWholeAnswerUnread {
            // `WholeAnswerPassThrough`: the node's bytes and type, unread.
            return await respondWhole(
                raw, contentType: response.headers["Content-Type"] ?? translator.completionContentType, writer: writer
            ) { $0.complete = true }
        }
        // A large answer (many embedding vectors) is decoded and translated off the event loop.
        let facts: StreamChunkFacts
        let body: [UInt8]
        do {
            (facts, body) = try await EventLoops.decoding(byteCount: raw.count) { () throws(UpstreamFailure) in
                let answer: JSONValue
                do { answer = try JSONParser.parse(raw) } catch {
                    throw .status(502, "node \(node.name) sent an incomplete answer: \(error)")
                }
                let facts = StreamChunkFacts(answer)
                if let message = facts.errorMessage { throw .status(502, message) }
                return (facts, translator.completion(from: answer, raw: raw))
            }
        } catch {
            return .failed(error, usage: Usage())
        }
        return await respondWhole(body, contentType: translator.completionContentType, writer: writer) { $0.record(final: facts) }
    }

    /// Sends a whole answer in one piece, its first and last byte timed as now; `finish` adds what
    /// the answer said of its tokens.
    private func respondWhole(
        _ body: [UInt8], contentType: String, writer: HTTPResponseWriter, finish: (inout Usage) -> Void = { _ in }
    ) async -> AttemptOutcome {
        var usage = Usage()
        usage.firstByteAt = .now
        usage.lastByteAt = usage.firstByteAt
        do {
            try await writer.respond(status: 200, headers: ["Content-Type": contentType], body: body)
        } catch {
            return .clientLeft
        }
        finish(&usage)
        return .answered(status: 200, usage: usage)
    }

    /// Passes a streamed answer on chunk by chunk (translated, or the node's bytes untouched), and
    /// ends it with an in-band error in the client's format if the node breaks off.
    func relayStream(
        _ response: HTTPClientResponse, translator: inout any AnswerTranslator, node: ClusterConfig.NodeConfig,
        writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        if !(translator is any StreamTranslator) && translator.streamContentType == "text/event-stream" {
            return await relayEventStream(response, translator: translator, node: node, writer: writer)
        }
        var usage = Usage()
        var splitter = JSONStreamSplitter()
        guard await startStream(response, translator: translator, writer: writer) else { return .clientLeft }
        /// Notes what a chunk means for the stream; returns the node's in-band error, if it was one.
        func note(_ facts: StreamChunkFacts) -> String? {
            if let message = facts.errorMessage { return message }
            if facts.isFinal { usage.record(final: facts) }
            return nil
        }
        var lineTranslator = translator as? any StreamTranslator
        defer { if let lineTranslator { translator = lineTranslator } }
        /// Translates one chunk; returns the node's in-band error, if it was one.
        func take(_ value: ArraySlice<UInt8>, into events: inout [UInt8]) throws(APIError) -> String? {
            let chunk: JSONValue
            do { chunk = try JSONParser.parse(value) } catch { throw APIError(status: 502, "upstream sent malformed JSON: \(error)") }
            let facts = StreamChunkFacts(chunk)
            if let message = facts.errorMessage {
                events.append(contentsOf: translator.errorEvent(message))
                return message
            }
            events.append(contentsOf: lineTranslator?.events(for: chunk) ?? [])
            return note(facts)
        }
        let passThrough = lineTranslator == nil
        var nodeError: String?
        /// Whether the client's copy of a pass-through stream ends in the middle of a line.
        var midLine = false
        /// Whether the client has been sent the whole answer (its final chunk, translated or not).
        var delivered = false
        do {
            while nodeError == nil, let piece = try await response.next() {
                if passThrough {
                    // The node's bytes go on untouched; each chunk's top level is scanned, not decoded.
                    for value in try splitter.values(in: piece) where nodeError == nil {
                        nodeError = note(try StreamChunkFacts.read(value))
                    }
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(piece)
                    midLine = piece.last != 10
                    delivered = usage.complete
                    continue
                }
                var events = [UInt8]()
                for value in try splitter.values(in: piece) where nodeError == nil {
                    nodeError = try take(value, into: &events)
                }
                if !events.isEmpty {
                    if usage.firstByteAt == nil { usage.firstByteAt = .now }
                    try await writer.write(events)
                }
                delivered = usage.complete
            }
            if nodeError == nil, let rest = splitter.remainder() {
                // A last value without anything after it (a bare scalar, or a truncated object).
                if passThrough {
                    nodeError = note(try StreamChunkFacts.read(rest))
                } else {
                    var events = [UInt8]()
                    nodeError = try take(rest, into: &events)
                    if !events.isEmpty { try await writer.write(events) }
                }
            }
        } catch {
            if clientLeft(after: delivered, response, writer) { return .answered(status: 200, usage: usage) }
            return await endOfStream(
                response, broke: error, nodeError: nil, usage: usage, translator: translator, midLine: midLine, node: node, writer: writer)
        }
        return await endOfStream(
            response, broke: nil, nodeError: nodeError, usage: usage, translator: translator, midLine: midLine, node: node, writer: writer)
    }

    /// Whether a relay broke off because its client left once it had the whole answer (the node's
    /// upstream answer then closed): the `openai` Python package closes its connection at `data:
    /// [DONE]`, before the node has ended its chunked body. That request was served, and counts as
    /// served; a client that left sooner did not get its answer.
    private func clientLeft(after delivered: Bool, _ response: HTTPClientResponse, _ writer: HTTPResponseWriter) -> Bool {
        guard delivered, Task.isCancelled || writer.isBroken else { return false }
        response.close()
        return true
    }

    /// Passes a node's own server-sent events on untouched (Ollama's `/v1/responses`), scanning them
    /// for usage, an in-band error and the event that ends the answer.
    private func relayEventStream(
        _ response: HTTPClientResponse, translator: any AnswerTranslator, node: ClusterConfig.NodeConfig, writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        var usage = Usage()
        var events = ServerSentEventScanner()
        guard await startStream(response, translator: translator, writer: writer) else { return .clientLeft }
        var midLine = false
        var delivered = false
        do {
            while let piece = try await response.next() {
                events.scan(piece)
                if usage.firstByteAt == nil { usage.firstByteAt = .now }
                try await writer.write(piece)
                midLine = piece.last != 10
                delivered = events.isComplete
            }
            events.finish()
        } catch {
            if !clientLeft(after: delivered, response, writer) {
                return await endOfStream(
                    response, broke: error, nodeError: nil, usage: usage, translator: translator, midLine: midLine, node: node,
                    writer: writer)
            }
        }
        if events.isComplete {
            var final = StreamChunkFacts()
            final.isFinal = true
            final.promptEvalCount = events.promptTokens
            final.evalCount = events.completionTokens
            usage.record(final: final)
        }
        return await endOfStream(
            response, broke: nil, nodeError: events.errorMessage, usage: usage, translator: translator, midLine: midLine, node: node,
            writer: writer)
    }

    /// Sends a stream's head (server-sent events unbuffered by proxies in front); false when the
    /// client has gone, the node's answer then closed.
    private func startStream(_ response: HTTPClientResponse, translator: any AnswerTranslator, writer: HTTPResponseWriter) async -> Bool {
        var headers: HTTPHeaders = ["Content-Type": translator.streamContentType]
        if translator.streamContentType == "text/event-stream" {
            headers.add("Cache-Control", "no-cache")
            headers.add("X-Accel-Buffering", "no")
        }
        do {
            try await writer.start(status: 200, headers: headers)
            return true
        } catch {
            response.close()
            return false
        }
    }

    /// Tells the client how a relayed stream ended, and returns it: the client left, the node broke
    /// off (`broke`), ended it with its own in-band error (already passed on), ended it before the
    /// answer was whole, or finished.
    private func endOfStream(
        _ response: HTTPClientResponse, broke: (any Error)?, nodeError: String?, usage: Usage, translator: any AnswerTranslator,
        midLine: Bool, node: ClusterConfig.NodeConfig, writer: HTTPResponseWriter
    ) async -> AttemptOutcome {
        if let broke {
            if Task.isCancelled || writer.isBroken {
                response.close()
                return .clientLeft
            }
            logger.warning("stream from node \(node.name) broke: \(broke)")
            await endStream(
                translator, midLine: midLine, writer: writer, error: "the node serving this request failed mid-stream: \(broke)")
            response.close()
            return .failed(.cutMidStream("node \(node.name) failed mid-stream: \(broke)"), usage: usage)
        }
        if let nodeError {
            try? await writer.finish()
            response.close()
            return .failed(.cutMidStream("node \(node.name) ended the stream with an error: \(nodeError)"), usage: usage)
        }
        if !usage.complete {
            await endStream(
                translator, midLine: midLine, writer: writer, error: "node \(node.name) ended the stream before it was complete")
            return .failed(.cutMidStream("node \(node.name) ended the stream before it was complete"), usage: usage)
        }
        try? await writer.finish()
        return .answered(status: 200, usage: usage)
    }

    /// Ends a broken stream with an in-band error in the client's format. A pass-through relay may
    /// have forwarded part of a line, so it starts the error on a line of its own.
    private func endStream(_ translator: any AnswerTranslator, midLine: Bool, writer: HTTPResponseWriter, error: String) async {
        if midLine { try? await writer.write([10]) }
        try? await writer.write(translator.errorEvent(error))
        try? await writer.finish()
    }
}
