// libFuzzer target: the relay's reading of a node's stream. The input drives a random re-encoding
// of a fixed, valid Ollama chat stream (whitespace anywhere, key order, unicode-escaped keys and
// strings, CRLF or blank lines between values, chunk boundaries anywhere); the relay must find
// the same chunks, the same final chunk and usage, and translate them into the same OpenAI
// events as from Go's own bytes. A mismatch traps, which libFuzzer reports as a finding.
// Built by Fuzz/run.sh with Sources/Balancer and the stream-reading files of Sources/Proxy.
import APITranslation
import WireFormats

/// Draws choices from the fuzzer's bytes (zeros once they run out).
struct Choices {
    let bytes: [UInt8]
    var index = 0
    mutating func next(_ bound: Int) -> Int {
        defer { index += 1 }
        return index < bytes.count ? Int(bytes[index]) % bound : 0
    }
}

let streamValues: [JSONValue] =
    (0..<4).map { position in
        [
            "model": "llama3.2", "created_at": "2024-08-04T19:22:45.499127Z",
            "message": ["role": "assistant", "content": .string(["The", " sky\n", " is \"blue\"", " \u{e9}t\u{e9}"][position])],
            "done": false,
        ]
    } + [
        [
            "model": "llama3.2", "created_at": "2024-08-04T19:22:46Z", "message": ["role": "assistant", "content": ""], "done": true,
            "done_reason": "stop", "total_duration": 5_043_500_667, "load_duration": 5_025_959, "prompt_eval_count": 26,
            "prompt_eval_duration": 325_953_000, "eval_count": 290, "eval_duration": 4_709_213_000,
        ]
    ]

func whitespace(_ choices: inout Choices) -> [UInt8] {
    let options: [[UInt8]] = [[], [], [32], [9], [10, 32, 32], [13, 10]]
    return options[choices.next(options.count)]
}

func encodeString(_ text: String, _ choices: inout Choices) -> [UInt8] {
    let plain = JSONValue.string(text).serialized()
    guard choices.next(3) == 0 else { return plain }
    // Escape every letter as \u00XX, leaving existing escapes alone.
    var out: [UInt8] = [34]
    var escapeLeft = 0
    for byte in plain.dropFirst().dropLast() {
        if escapeLeft > 0 {
            escapeLeft = byte == 117 && escapeLeft == 1 ? 4 : escapeLeft - 1
            out.append(byte)
        } else if byte == 92 {
            escapeLeft = 1
            out.append(byte)
        } else if (97...122).contains(byte) || (65...90).contains(byte) {
            let hex = Array("0123456789abcdef".utf8)
            out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        } else {
            out.append(byte)
        }
    }
    out.append(34)
    return out
}

func encode(_ value: JSONValue, _ choices: inout Choices) -> [UInt8] {
    switch value {
    case .string(let text):
        return encodeString(text, &choices)
    case .object(let object):
        var fields = Array(object)
        for position in fields.indices.reversed() { fields.swapAt(position, choices.next(position + 1)) }
        var out: [UInt8] = [123] + whitespace(&choices)
        for (position, field) in fields.enumerated() {
            if position > 0 { out += [44] + whitespace(&choices) }
            out += encodeString(field.key, &choices) + whitespace(&choices) + [58] + whitespace(&choices)
            out += encode(field.value, &choices) + whitespace(&choices)
        }
        return out + [125]
    default:
        return value.serialized()
    }
}

struct Reading: Equatable {
    var facts: [StreamChunkFacts] = []
    var events: [UInt8] = []
}

func read(_ pieces: [[UInt8]]) throws -> Reading {
    var splitter = JSONStreamSplitter()
    var translation = ChatResponseTranslation(model: "m", includeUsage: true, created: 0, id: "chatcmpl-fuzz")
    var reading = Reading()
    func take(_ value: ArraySlice<UInt8>) throws {
        reading.facts.append(try StreamChunkFacts.read(value))
        reading.events += translation.events(for: try JSONParser.parse(value))
    }
    for piece in pieces { for value in try splitter.values(in: piece) { try take(value) } }
    if let rest = splitter.remainder() { try take(rest) }
    return reading
}

let expected: Reading = {
    var bytes: [UInt8] = []
    for value in streamValues { bytes += value.serialized() + [10] }
    return try! read([bytes])
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func streamRelayFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var choices = Choices(bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    var stream: [UInt8] = []
    let lineEnds: [[UInt8]] = [[10], [13, 10], [10, 10], [13, 10, 13, 10], [], [32, 10]]
    for (position, value) in streamValues.enumerated() {
        stream += encode(value, &choices)
        let end = lineEnds[choices.next(lineEnds.count)]
        // The last value may end the stream without a line end; others need a separator only if
        // the encoder wrote none (two objects back to back are still two values).
        stream += position == streamValues.count - 1 && choices.next(2) == 0 ? [] : end
    }
    var pieces: [[UInt8]] = []
    var start = 0
    while start < stream.count {
        let length = 1 + choices.next(64)
        pieces.append(Array(stream[start..<min(stream.count, start + length)]))
        start += length
    }
    guard let reading = try? read(pieces) else { fatalError("a valid re-encoded stream was refused") }
    if reading.facts != expected.facts { fatalError("facts differ: \(reading.facts) vs \(expected.facts)") }
    if reading.events != expected.events { fatalError("translated events differ") }
    return 0
}
