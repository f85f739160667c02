import Foundation
@preconcurrency import Glibc

/// The wall-clock time now as RFC 3339 in UTC (`2026-12-06T22:44:00.597Z`): the log's line stamp,
/// and Ollama's `created_at` on answers TensorWall (or a simulated node) writes itself. From the
/// clock and `gmtime_r`, not a Foundation date formatter, which costs an allocation and its setup
/// each time: cheap enough for every line of a stream.
public enum UTCTimestamp {
    /// `fractionDigits` of the second: 3 (milliseconds) for the log, 6 or 9 nearer Ollama's own.
    public static func now(fractionDigits: Int = 3) -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let digits = min(max(fractionDigits, 1), 9)
        var divisor = 1
        for _ in digits..<9 { divisor *= 10 }
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%0*dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), digits, Int(now.tv_nsec) / divisor)
    }
}
