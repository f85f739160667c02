/// Incrementally removes chunked transfer coding from bytes as they arrive.
struct ChunkedDecoder {
    enum Output {
        case data(UnsafeRawBufferPointer)
        case needMore
        case end
    }

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    private var state = State.size
    private static let crlf: [UInt8] = [13, 10]
    private static let maxLineLength = 4096

    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes from `buffer`; `.data` points into the buffer and is valid until the next call (the caller copies it).
    mutating func next(from buffer: ReadBuffer, pendingConsume: inout Int) throws(HTTPParseError) -> Output {
        if pendingConsume > 0 {
            buffer.consume(pendingConsume)
            pendingConsume = 0
        }
        while true {
            switch state {
            case .size:
                guard let lineEnd = buffer.firstOffset(of: Self.crlf) else {
                    if buffer.readableCount > Self.maxLineLength { throw .malformed("chunk size line too long") }
                    return .needMore
                }
                let size = try Self.parseSize(UnsafeRawBufferPointer(rebasing: buffer.readable[..<lineEnd]))
                buffer.consume(lineEnd + 2)
                state = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                guard !buffer.isEmpty else { return .needMore }
                let count = min(remaining, buffer.readableCount)
                let piece = UnsafeRawBufferPointer(rebasing: buffer.readable[..<count])
                pendingConsume = count
                state = remaining == count ? .dataEnd : .data(remaining: remaining - count)
                return .data(piece)
            case .dataEnd:
                guard buffer.readableCount >= 2 else { return .needMore }
                guard buffer.byte(at: 0) == 13, buffer.byte(at: 1) == 10 else { throw .malformed("missing CRLF after chunk") }
                buffer.consume(2)
                state = .size
            case .trailers:
                guard let lineEnd = buffer.firstOffset(of: Self.crlf) else {
                    if buffer.readableCount > Self.maxLineLength { throw .malformed("trailer too long") }
                    return .needMore
                }
                let line = UnsafeRawBufferPointer(rebasing: buffer.readable[..<lineEnd])
                if line.contains(10) || line.contains(13) { throw .malformed("bare CR or LF in trailer") }
                buffer.consume(lineEnd + 2)
                if lineEnd == 0 {
                    state = .done
                    return .end
                }
            case .done:
                return .end
            }
        }
    }

    private static func parseSize(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var index = 0
        while index < line.count {
            let byte = line[index]
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - 55)
            default: value = -1
            }
            if value < 0 { break }
            digits += 1
            guard digits <= 15 else { throw .malformed("chunk size too large") }
            size = size * 16 + value
            index += 1
        }
        guard digits > 0 else { throw .malformed("invalid chunk size") }
        // Only chunk extensions (";name=value") may follow the size, optionally after whitespace.
        while index < line.count, line[index] == 32 || line[index] == 9 { index += 1 }
        if index < line.count {
            guard line[index] == UInt8(ascii: ";") else { throw .malformed("invalid chunk size") }
            if line[index...].contains(where: { $0 == 10 || $0 == 13 || $0 == 0 }) { throw .malformed("invalid chunk extension") }
        }
        return size
    }
}
