import Synchronization
import WireFormats

/// The `Date` each answer carries (RFC 9110: a server with a clock sends one, as Ollama's and
/// nginx do), formatted once a second rather than once an answer.
enum DateHeader {
    private static let cached = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        let now = WallClock.now()
        let second = Int(now)
        return cached.withLock { entry in
            if entry.second != second { entry = (second, HTTPDate.format(now)) }
            return entry.text
        }
    }
}
