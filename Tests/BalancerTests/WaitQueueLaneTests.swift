import Testing

@testable import Balancer

/// A model's queue keeps a lane per context length: each lane's head looks for a slot.
@Suite struct WaitQueueLaneTests {
    let model = ModelName("llama3.2")!

    @Test func eachLanesHeadIsWokenAndCountedApart() async {
        let queues = WaitQueues()
        let long = queues.enqueue(model, lane: 8192, maxLength: 3)!
        let plain = queues.enqueue(model, lane: nil, maxLength: 3)!
        let secondLong = queues.enqueue(model, lane: 8192, maxLength: 3)!
        #expect(queues.enqueue(model, lane: nil, maxLength: 3) == nil)
        #expect(queues.count(model) == 3)
        #expect(queues.count(model, lane: 8192) == 2)
        #expect(queues.count(model, lane: nil) == 1)
        #expect(queues.position(model, plain) == 0)
        #expect(queues.position(model, secondLong) == 1)
        let deadline = ContinuousClock.now + .seconds(30)
        // The head of the plain lane is behind a request of another length, and still looks at once.
        #expect(await queues.waitForTurn(model, plain, seenEpoch: nil, deadline: deadline) == .turn)
        #expect(await queues.waitForTurn(model, long, seenEpoch: nil, deadline: deadline) == .turn)
        // Only the head of its lane: the second 8192 request waits for the first to leave.
        async let second = queues.waitForTurn(model, secondLong, seenEpoch: queues.epoch, deadline: deadline)
        try? await Task.sleep(for: .milliseconds(20))
        queues.leave(model, plain)
        queues.leave(model, long)
        #expect(await second == .turn)
    }
}
