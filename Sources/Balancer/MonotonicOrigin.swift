/// Monotonic seconds since the process started.
enum MonotonicOrigin {
    static let origin = ContinuousClock.now

    static func seconds() -> Double {
        let elapsed = origin.duration(to: .now)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
