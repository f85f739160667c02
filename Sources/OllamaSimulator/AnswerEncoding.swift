import WireFormats

/// How a simulated node lays out the JSON it answers with. Real Ollama writes Go's compact
/// encoding, but Ollama-compatible servers, proxies and Python stand-ins write the same values in
/// other valid ways; a balancer that matches bytes instead of parsing JSON breaks on them. Every
/// encoding here is valid JSON (and, but for `pretty`, valid NDJSON) carrying the same values.
public enum AnswerEncoding: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Go's bytes: compact, keys in the order Ollama writes them.
    case go
    /// A space after every `:` and `,`, as Python's `json.dumps` writes.
    case spaced
    /// Indented across several lines (a stream's values then span lines too).
    case pretty
    /// Every object's keys in reverse order.
    case reordered
    /// Every letter of every key and string as a `\u00XX` escape (`"\u0064\u006f\u006e\u0065"` for `done`).
    case unicodeEscaped
    /// Lines end in `\r\n`, with a blank line between stream values.
    case crlf
    /// Compact, but every byte goes out in an HTTP chunk of its own.
    case bytePerChunk

    public var description: String { rawValue }

    /// One whole answer's bytes.
    public func encode(_ value: JSONValue) -> [UInt8] {
        switch self {
        case .go, .crlf, .bytePerChunk: return value.serialized()
        default:
            var out: [UInt8] = []
            write(value, into: &out, indent: 0)
            return out
        }
    }

    /// One value of an NDJSON stream, with its line end.
    public func line(_ value: JSONValue) -> [UInt8] {
        var out = encode(value)
        out += self == .crlf ? Array("\r\n\r\n".utf8) : [10]
        return out
    }

    /// Whether writes go out one byte per HTTP chunk.
    public var splitsEveryByte: Bool { self == .bytePerChunk }

    private func write(_ value: JSONValue, into out: inout [UInt8], indent: Int) {
        switch value {
        case .string(let text):
            writeString(text, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { separator(into: &out) }
                newline(into: &out, indent: indent + 1)
                write(element, into: &out, indent: indent + 1)
            }
            if !elements.isEmpty { newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            var fields = Array(object)
            if self == .reordered { fields.reverse() }
            out.append(UInt8(ascii: "{"))
            for (position, field) in fields.enumerated() {
                if position > 0 { separator(into: &out) }
                newline(into: &out, indent: indent + 1)
                writeString(field.key, into: &out)
                out.append(UInt8(ascii: ":"))
                if self == .spaced || self == .pretty { out.append(UInt8(ascii: " ")) }
                write(field.value, into: &out, indent: indent + 1)
            }
            if !fields.isEmpty { newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "}"))
        default:
            out += value.serialized()
        }
    }

    private func separator(into out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        if self == .spaced { out.append(UInt8(ascii: " ")) }
    }

    private func newline(into out: inout [UInt8], indent: Int) {
        guard self == .pretty else { return }
        out.append(10)
        out += Array(repeating: UInt8(ascii: " "), count: indent * 2)
    }

    private func writeString(_ text: String, into out: inout [UInt8]) {
        guard self == .unicodeEscaped else {
            out += JSONValue.string(text).serialized()
            return
        }
        out.append(UInt8(ascii: "\""))
        // Letters inside an existing escape (`\n`, `\u00e9`) stay as they are.
        var escapeBytesLeft = 0
        for byte in JSONValue.string(text).serialized().dropFirst().dropLast() {
            if escapeBytesLeft > 0 {
                escapeBytesLeft = byte == UInt8(ascii: "u") && escapeBytesLeft == 1 ? 4 : escapeBytesLeft - 1
                out.append(byte)
                continue
            }
            if byte == UInt8(ascii: "\\") {
                escapeBytesLeft = 1
                out.append(byte)
                continue
            }
            let isLetter = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            if isLetter {
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            } else {
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
