/// A growable byte buffer that sockets read straight into, so incoming bytes are copied once.
///
/// Owned by one connection task at a time; never shared.
final class ReadBuffer {
    private var storage: UnsafeMutableRawBufferPointer
    private(set) var readerIndex = 0
    private(set) var writerIndex = 0

    init(capacity: Int = 16 * 1024) {
        storage = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { storage.deallocate() }

    var readableCount: Int { writerIndex - readerIndex }
    var isEmpty: Bool { readerIndex == writerIndex }

    var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[readerIndex..<writerIndex])
    }

    func byte(at offset: Int) -> UInt8 { storage[readerIndex + offset] }

    /// Lets `body` write into free space (at least `minimum` bytes), then counts what it wrote.
    func fill(minimum: Int = 4096, _ body: (UnsafeMutableRawBufferPointer) throws -> SocketCalls.ReadResult) rethrows
        -> SocketCalls.ReadResult
    {
        reserve(minimum)
        let result = try body(UnsafeMutableRawBufferPointer(rebasing: storage[writerIndex...]))
        if case .bytes(let count) = result { writerIndex += count }
        return result
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: storage[writerIndex...]).copyMemory(from: bytes)
        writerIndex += bytes.count
    }

    func consume(_ count: Int) {
        precondition(count <= readableCount)
        readerIndex += count
        if readerIndex == writerIndex {
            readerIndex = 0
            writerIndex = 0
        }
    }

    /// Removes and returns the first `count` readable bytes.
    func take(_ count: Int) -> [UInt8] {
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: storage[readerIndex..<readerIndex + count]))
        consume(count)
        return bytes
    }

    /// Whether a LF not preceded by a CR lies at or after `start` in the readable bytes.
    func containsBareLineFeed(from start: Int) -> Bool {
        let readable = self.readable
        var index = start
        while index < readable.count {
            if readable[index] == 10 && (index == 0 || readable[index - 1] != 13) { return true }
            index += 1
        }
        return false
    }

    /// Offset (from the reader index) of the first occurrence of `pattern`, searching from `start`.
    func firstOffset(of pattern: [UInt8], from start: Int = 0) -> Int? {
        let readable = self.readable
        guard pattern.count <= readable.count, start <= readable.count - pattern.count else { return nil }
        let first = pattern[0]
        var index = start
        let last = readable.count - pattern.count
        while index <= last {
            if readable[index] == first {
                var matched = true
                for k in 1..<pattern.count where readable[index + k] != pattern[k] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }

    private func reserve(_ minimum: Int) {
        if storage.count - writerIndex >= minimum { return }
        let live = readableCount
        if readerIndex > 0 && storage.count - live >= minimum {
            // Slide the unread bytes to the front instead of growing.
            storage.baseAddress!.copyMemory(from: storage.baseAddress! + readerIndex, byteCount: live)
            readerIndex = 0
            writerIndex = live
            return
        }
        var capacity = storage.count * 2
        while capacity - live < minimum { capacity *= 2 }
        let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        grown.baseAddress!.copyMemory(from: storage.baseAddress! + readerIndex, byteCount: live)
        storage.deallocate()
        storage = grown
        readerIndex = 0
        writerIndex = live
    }
}
