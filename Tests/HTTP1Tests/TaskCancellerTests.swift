import Testing

@testable import HTTP1

@Suite struct TaskCancellerTests {
    /// A hang-up can be seen before the accept loop has attached the connection's task.
    @Test(.timeLimit(.minutes(1))) func aCancelBeforeTheTaskIsAttachedCancelsItOnAttach() async {
        let canceller = TaskCanceller()
        canceller.cancel()
        let task = Task<Void, Never> {
            while !Task.isCancelled { await Task.yield() }
        }
        canceller.attach(task)
        await task.value  // returns only once cancelled
        #expect(task.isCancelled)
    }

    @Test(.timeLimit(.minutes(1))) func aCancelAfterAttachCancelsTheTask() async {
        let canceller = TaskCanceller()
        let task = Task<Void, Never> {
            while !Task.isCancelled { await Task.yield() }
        }
        canceller.attach(task)
        #expect(!task.isCancelled)
        canceller.cancel()
        await task.value
        #expect(task.isCancelled)
    }
}
