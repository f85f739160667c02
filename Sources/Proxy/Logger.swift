import Foundation
@preconcurrency import Glibc
import Synchronization

/// Line-oriented logging to stderr. Messages are built by callers that never include prompt text
/// or secrets; the logger only timestamps and filters by level.
final class Logger: Sendable {
    enum Level: Int, Comparable, Sendable {
        case debug, info, warning, error
        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }
        init?(name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warning", "warn": self = .warning
            case "error": self = .error
            default: return nil
            }
        }
        var label: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    let minimum: Level
    private let lock = Mutex(())
    private let sink: (@Sendable (String) -> Void)?

    /// - Parameter sink: receives each line instead of standard error (tests read logs through it).
    init(minimum: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.minimum = minimum
        self.sink = sink
    }

    func log(_ level: Level, _ message: @autoclosure () -> String) {
        guard level >= minimum else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let stamp = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
        let line = "\(stamp) \(level.label) \(message())\n"
        if let sink { return sink(line) }
        var bytes = Array(line.utf8)
        lock.withLock { _ in
            // Straight to descriptor 2: one write per line, no C stdio globals.
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
}
