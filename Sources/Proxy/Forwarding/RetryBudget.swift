/// How many more attempts one client request may make after a failure before its first byte,
/// across nodes and tiers (`maxRetries` in `cluster.json`).
final class RetryBudget {
    private var left: Int

    init(_ retries: Int) {
        left = retries
    }

    /// Uses up one retry; false when none is left.
    func take() -> Bool {
        guard left > 0 else { return false }
        left -= 1
        return true
    }
}
