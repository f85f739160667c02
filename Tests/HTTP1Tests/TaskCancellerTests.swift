import Testing

@testable import HTTP1

@Suite struct TaskCancellerTests {
    /// A task that runs until it is cancelled, or gives up after ten seconds (so a failure ends).
    private func taskAwaitingCancellation() -> Task<Void, Never> {
        Task {
            let deadline = ContinuousClock.now + .seconds(10)
            while !Task.isCancelled, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
        }
    }

    /// A hang-up can be seen before the accept loop has attached the connection's task.
    @Test func aCancelBeforeTheTaskIsAttachedCancelsItOnAttach() async {
        let canceller = TaskCanceller()
        canceller.cancel()
        let task = taskAwaitingCancellation()
        canceller.attach(task)
        await task.value
        #expect(task.isCancelled)
    }

    @Test func aCancelAfterAttachCancelsTheTask() async {
        let canceller = TaskCanceller()
        let task = taskAwaitingCancellation()
        canceller.attach(task)
        #expect(!task.isCancelled)
        canceller.cancel()
        await task.value
        #expect(task.isCancelled)
    }
}
