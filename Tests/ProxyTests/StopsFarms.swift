import Synchronization
import Testing

/// Awaits the teardown of everything a test started (farms, extra simulators) once the test ends,
/// whether it passed, failed or threw: a test's sockets and tasks are gone before the next
/// suite's test counts on the machine being quiet. It also holds the test until `FarmTestGate` lets
/// it run. Every suite in ProxyTests carries it.
struct StopsFarms: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> StopsFarms? {
        testCase == nil ? nil : self  // one scope per test case, not one around the whole suite
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await FarmTestGate.shared.enter()
        let teardown = Teardown()
        try await Teardown.$current.withValue(teardown) {
            do {
                try await function()
            } catch {
                await teardown.run()
                await FarmTestGate.shared.leave()
                throw error
            }
            await teardown.run()
            await FarmTestGate.shared.leave()
        }
    }
}

extension Trait where Self == StopsFarms {
    static var stopsFarms: Self { StopsFarms() }
}

/// What to stop when the current test ends, last started first.
final class Teardown: Sendable {
    @TaskLocal static var current: Teardown?
    private let steps = Mutex<[@Sendable () async -> Void]>([])

    /// Runs `step` when the test ends; a test outside a `.stopsFarms` suite is a mistake, so it traps.
    static func add(_ step: @escaping @Sendable () async -> Void) {
        guard let current else { preconditionFailure("a ProxyTests suite must carry .stopsFarms") }
        current.steps.withLock { $0.append(step) }
    }

    func run() async {
        let steps = self.steps.withLock { steps in
            defer { steps = [] }
            return steps
        }
        for step in steps.reversed() { await step() }
    }
}
