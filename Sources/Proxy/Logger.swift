import Foundation
@preconcurrency import Glibc
import Synchronization
import WireFormats

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
        let line = "\(UTCTimestamp.now()) \(level.label) \(Self.oneLine(message()))\n"
        if let sink { return sink(line) }
        var bytes = Array(line.utf8)
        lock.withLock { _ in
            // Straight to descriptor 2: one write per line, no C stdio globals.
            _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    /// A message with its control characters written as escapes (`\n`, `\u{1B}`): a line says one
    /// thing, whatever a client put in the names it sent. A model name holding a line break wrote a
    /// second, forged `request` line into the log.
    static func oneLine(_ message: String) -> String {
        guard message.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return message }
        var escaped = ""
        escaped.reserveCapacity(message.utf8.count + 8)
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: escaped += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A value for a `key=value` field, quoted as logfmt quotes it when it holds a space, a quote,
    /// an equals sign or a backslash (or is empty), so that a name a client sent stays one field: a
    /// model named `x node=gpu9 status=200` read as three fields before.
    static func field(_ value: String) -> String {
        guard value.isEmpty || value.utf8.contains(where: { $0 == 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C }) else { return value }
        var quoted = "\""
        quoted.reserveCapacity(value.utf8.count + 4)
        for character in value.unicodeScalars {
            if character == "\"" || character == "\\" { quoted += "\\" }
            quoted.unicodeScalars.append(character)
        }
        return quoted + "\""
    }

    func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    func warning(_ message: @autoclosure () -> String) { log(.warning, message()) }
    func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
}
