import APITranslation
import HTTP1
import WireFormats

extension Gateway {
    /// The one line per request (key name, model, node, status, time to first token, duration,
    /// tokens; never prompt text), the usage ledger behind `/metrics`, and the usage log. An
    /// answer that started but was cut off is logged and counted as a 502: the client did not get it whole.
    func logAccess(_ record: AccessRecord) {
        let usage = record.usage
        let cut = record.status < 400 && !usage.complete
        let status = cut ? 502 : record.status
        let elapsed = record.started.duration(to: .now)
        let firstToken = usage.firstByteAt.map { record.started.duration(to: $0) }
        logger.info(
            "request key=\(Logger.field(record.keyName)) model=\(Logger.field(record.model)) node=\(Logger.field(record.node)) status=\(status)\(cut ? " cut_mid_stream=true" : "") stream=\(record.stream) ttft_ms=\(firstToken.map(milliseconds) ?? "-") duration_ms=\(milliseconds(elapsed)) prompt_tokens=\(usage.promptTokens) completion_tokens=\(usage.completionTokens)"
        )
        let entry = UsageLedger.Entry(
            at: WallClock.now(), apiKey: record.keyName, model: record.model, node: record.node, status: status, stream: record.stream,
            firstTokenSeconds: firstToken.map(Self.seconds), durationSeconds: Self.seconds(elapsed), promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens)
        self.usage.record(entry)
        history.record(ttftSeconds: entry.firstTokenSeconds)
        usageLog?.append(entry)
    }

    /// Answers with `error` in the API's format and notes it for the access log.
    func fail(_ error: APIError, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, openAI: Bool) async {
        await fail(error, writer, &record, dialect: openAI ? .openAI : .ollama)
    }

    func fail(_ error: APIError, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, dialect: ErrorDialect) async {
        await respond(writer, error, dialect: dialect)
        record.status = error.status
        record.usage = Usage()
        record.stream = false
    }

    /// Settles what one target did with the request: an answer (whole, cut or abandoned) and a
    /// final error are noted for the access log, the error answered. Returns the error of a target
    /// that could not serve, for the caller to try the next one or answer it.
    func settle(_ result: TargetResult, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, openAI: Bool) async -> (
        error: APIError, spendsRetry: Bool
    )? {
        await settle(result, writer, &record, dialect: openAI ? .openAI : .ollama)
    }

    func settle(_ result: TargetResult, _ writer: HTTPResponseWriter, _ record: inout AccessRecord, dialect: ErrorDialect) async -> (
        error: APIError, spendsRetry: Bool
    )? {
        switch result {
        case .done(let status, let usage, let servedBy):
            record.node = servedBy
            record.status = status
            record.usage = usage
        case .abandoned(let servedBy):
            record.node = servedBy
            record.status = 499
            record.usage = Usage()
        case .final(let error, let servedBy):
            record.node = servedBy
            await fail(error, writer, &record, dialect: dialect)
        case .unavailable(let error, let spendsRetry):
            return (error, spendsRetry)
        }
        return nil
    }

    private func milliseconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return String((value * 10).rounded() / 10)
    }
}
