/// Which node served each conversation's last turn, keyed by a hash of its messages so far, so the
/// next turn can go where its prompt is cached. Bounded: it remembers at least the latest
/// `capacity / 2` conversations and at most `capacity`.
///
/// Two generations of fixed storage rather than one map pruned in place: the newest conversations go
/// into `current`, and when it is half the capacity it becomes `previous` and the old `previous` is
/// emptied, keeping its storage, to be `current`. A single map filtered to its newer half each time it
/// filled copied up to 100,000 entries into new storage, and the freed storage of each copy stayed
/// with the allocator: a process serving a new conversation in every request grew by steps for as
/// long as it ran (`Benchmarks/conversation_memory.py`, RELIABILITY.md).
struct ConversationMap: Sendable {
    let capacity: Int
    private var current: [UInt64: NodeID]
    private var previous: [UInt64: NodeID]

    init(capacity: Int) {
        self.capacity = max(2, capacity)
        current = Dictionary(minimumCapacity: self.capacity / 2)
        previous = Dictionary(minimumCapacity: self.capacity / 2)
    }

    func node(for key: UInt64) -> NodeID? { current[key] ?? previous[key] }

    mutating func remember(_ key: UInt64, node: NodeID) {
        if current.count >= capacity / 2 && current[key] == nil {
            swap(&current, &previous)
            current.removeAll(keepingCapacity: true)
        }
        current[key] = node
    }

    /// How many conversations it remembers now (some may be counted twice across generations).
    var count: Int { current.count + previous.count }
}
