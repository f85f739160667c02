import Foundation
@preconcurrency import Glibc

/// The wall-clock time now as RFC 3339 in UTC with milliseconds (`2026-12-06T22:44:00.597Z`): the
/// log's line stamp, and Ollama's `created_at` on answers TensorWall writes itself. From the clock
/// and `gmtime_r`, not a Foundation date formatter, which costs an allocation and its setup each time.
enum UTCTimestamp {
    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}
