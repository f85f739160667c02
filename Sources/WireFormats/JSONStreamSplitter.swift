/// Splits a node's streamed answer into its JSON values, however they are laid out: one per line
/// as Ollama writes them, with `\r\n` line ends, blank lines between them, pretty-printed across
/// several lines, or several on one line. A value ends where its outermost bracket closes, found
/// by tracking strings and nesting byte by byte; newlines decide nothing. Pieces may split a
/// value anywhere, even inside an escape; the unfinished value is kept for the next piece.
public struct JSONStreamSplitter: Sendable {
    /// A value grew past `maxValueBytes` without ending: the sender is broken or hostile.
    public struct OverlongValue: Error, CustomStringConvertible {
        public var description: String { "upstream sent an overlong JSON value" }
    }

    private var pending = [UInt8]()
    /// Scanner state carried from one piece to the next, so held bytes are never scanned twice.
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Where the unfinished value starts in `pending`; nil while only whitespace was seen.
    private var valueStart: Int?
    /// A bare scalar at the top (not an object or array) runs to the next whitespace.
    private var inScalar = false
    private var scanned = 0

    public init() {}

    public static let maxValueBytes = 16 * 1024 * 1024

    /// The values completed by `piece`, in order, as slices of one buffer.
    public mutating func values(in piece: [UInt8]) throws(OverlongValue) -> [ArraySlice<UInt8>] {
        let buffer: [UInt8]
        if pending.isEmpty {
            buffer = piece
        } else {
            pending.append(contentsOf: piece)
            buffer = pending
        }
        var result: [ArraySlice<UInt8>] = []
        var consumed = 0
        buffer.withUnsafeBufferPointer { bytes in
            var index = scanned
            while index < bytes.count {
                let byte = bytes[index]
                if inString {
                    if escaped {
                        escaped = false
                    } else if byte == 0x5C {  // backslash
                        escaped = true
                    } else if byte == 0x22 {
                        inString = false
                    }
                } else if inScalar {
                    if Self.isWhitespace(byte) || byte == 0x7B || byte == 0x5B {
                        result.append(buffer[valueStart!..<index])
                        inScalar = false
                        valueStart = nil
                        consumed = index
                        continue  // look at this byte again at the top level
                    }
                } else {
                    switch byte {
                    case 0x22:
                        inString = true
                        if valueStart == nil {
                            valueStart = index
                            inScalar = true  // a bare top-level string
                            inString = true
                        }
                    case 0x7B, 0x5B:  // { [
                        if valueStart == nil { valueStart = index }
                        depth += 1
                    case 0x7D, 0x5D:  // } ]
                        depth -= 1
                        if depth <= 0 {
                            result.append(buffer[(valueStart ?? index)...index])
                            depth = 0
                            valueStart = nil
                            consumed = index + 1
                        }
                    default:
                        if valueStart == nil {
                            if Self.isWhitespace(byte) {
                                consumed = index + 1
                            } else {
                                valueStart = index
                                inScalar = true
                            }
                        }
                    }
                }
                index += 1
            }
        }
        // A scalar string ends at its closing quote, which the loop above leaves to the next whitespace.
        let rest = buffer.count - consumed
        guard rest <= Self.maxValueBytes else { throw OverlongValue() }
        if consumed == buffer.count {
            pending = []
            scanned = 0
        } else {
            pending = Array(buffer[consumed...])
            if let start = valueStart { valueStart = start - consumed }
            scanned = pending.count
        }
        return result
    }

    /// True when bytes of an unfinished value are held.
    var hasPartialValue: Bool { valueStart != nil }

    /// Whatever value is left unfinished at the end of the stream (a scalar has no closing byte).
    public mutating func remainder() -> ArraySlice<UInt8>? {
        defer {
            pending = []
            scanned = 0
            depth = 0
            inString = false
            escaped = false
            inScalar = false
            valueStart = nil
        }
        guard let start = valueStart, start < pending.count else { return nil }
        return pending[start...]
    }

    @inline(__always)
    public static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
