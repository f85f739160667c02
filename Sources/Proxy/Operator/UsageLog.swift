import Balancer
@preconcurrency import Glibc
import Synchronization
import WireFormats

/// Appends one JSON line per finished request to the file `usageLog` names, so usage survives a
/// restart. Opened with O_APPEND: each line is one write(2), whole even with other writers.
final class UsageLog: Sendable {
    private let descriptor: Int32
    private let lock = Mutex(())

    /// nil when the file cannot be opened for appending.
    init?(path: String) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    func append(_ entry: UsageLedger.Entry) {
        var line: JSONObject = [
            "time": .string(RFC3339.format(entry.at)), "key": .string(entry.apiKey), "model": .string(entry.model),
            "node": .string(entry.node), "status": .int(Int64(entry.status)), "stream": .bool(entry.stream),
            "duration_ms": .double((entry.durationSeconds * 10_000).rounded() / 10),
            "prompt_tokens": .int(entry.promptTokens), "completion_tokens": .int(entry.completionTokens),
        ]
        line["ttft_ms"] = entry.firstTokenSeconds.map { .double(($0 * 10_000).rounded() / 10) } ?? .null
        var bytes = JSONValue.object(line).serialized()
        bytes.append(10)
        lock.withLock { _ in
            _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        }
    }
}
