// How far a stream paced by one `Task.sleep` per token drifts from its token rate, against sleeping
// until each token's fixed offset from the first (what the simulator does; BENCHMARKS.md, stop 45).
// Run: swiftc -O Benchmarks/sleep_drift.swift -o /tmp/sleep_drift && /tmp/sleep_drift
let clock = ContinuousClock()
let tokens = 64
for milliseconds in [3.3, 8.3, 16.6] {
    let token = Duration.microseconds(Int64(milliseconds * 1000))
    let relativeStart = clock.now
    for _ in 0..<tokens { try? await Task.sleep(for: token) }
    let relative = relativeStart.duration(to: clock.now) / (token * tokens)
    let fixedStart = clock.now
    for index in 1...tokens { try? await Task.sleep(until: fixedStart + token * index, clock: .continuous) }
    let fixed = fixedStart.duration(to: clock.now) / (token * tokens)
    print("\(milliseconds) ms a token: one sleep after another \(relative)x, to fixed offsets \(fixed)x")
}
