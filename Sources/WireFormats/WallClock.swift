@preconcurrency import Glibc

/// Seconds since 1970, for timestamps clients see (`created`) and `/status`.
public enum WallClock {
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
