import Foundation

/// Lets only a few wire tests run at once. Each starts simulated nodes, a gateway and probes every
/// 50 ms, and Swift Testing starts all of them together: on a 2-core host the probes of forty farms
/// queued behind each other for seconds and healthy nodes were taken out of service (stop 36's CI
/// failed 30 tests that way). Fewer at once keeps each farm's timing close to what it tests.
actor FarmTestGate {
    /// How many at once: `TENSORWALL_TEST_FARMS`, else twice the cores (a farm test mostly waits) up
    /// to four, since a container can report its host's cores rather than its own share of them.
    static let shared = FarmTestGate(
        width: ProcessInfo.processInfo.environment["TENSORWALL_TEST_FARMS"].flatMap(Int.init)
            ?? min(4, 2 * ProcessInfo.processInfo.activeProcessorCount))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) {
        free = max(1, width)
    }

    func enter() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the place straight to the test waiting longest, so none starves.
    func leave() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
