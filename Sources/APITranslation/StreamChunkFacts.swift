import Balancer
import WireFormats

/// What a relay must know about one chunk of a node's native stream: whether it ends the stream
/// (`"done": true`), whether it is an in-band error, and the usage counters of a final chunk.
/// Read by walking the object's top-level keys, so any valid JSON encoding is understood (spaces,
/// any key order, escaped key names such as `"\u0064one"`) while values nobody asked about are
/// skipped without being decoded: the pass-through fast path builds no `JSONValue` per chunk.
package struct StreamChunkFacts: Equatable {
    package var isFinal = false
    /// The message of an `{"error": ...}` chunk.
    package var errorMessage: String?
    package var promptEvalCount: Int64?
    package var evalCount: Int64?
    /// Nanoseconds, as Ollama reports it.
    package var loadDuration: Int64?
    /// Nanoseconds from the node taking the request to its final chunk.
    package var totalDuration: Int64?
    /// Nanoseconds the runner spent on the prompt, and on generating the answer.
    package var promptEvalDuration: Int64?
    package var evalDuration: Int64?

    /// Seconds the request waited inside Ollama for a parallel slot: Ollama's `load_duration` ends when
    /// the scheduler hands over the runner, and the wait for one of its slots comes after, counted only
    /// in `total_duration` (`shared/ollama-api.md`). Nil unless the final chunk carries all four.
    package var slotWaitSeconds: Double? {
        guard let totalDuration, let promptEvalDuration, let evalDuration else { return nil }
        return Double(max(0, totalDuration - (loadDuration ?? 0) - promptEvalDuration - evalDuration)) / 1e9
    }

    /// Reads the facts of one JSON value; throws when it is not a well-formed JSON object.
    package static func read(_ value: ArraySlice<UInt8>) throws(APIError) -> StreamChunkFacts {
        let result = value.withUnsafeBytes { raw -> Result<StreamChunkFacts, APIError> in
            var scanner = TopLevelScanner(bytes: raw)
            do throws(APIError) {
                return .success(try scanner.facts())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The same facts from an already parsed answer (a whole, non-streamed one).
    package init(_ answer: JSONValue) {
        isFinal = answer["done"]?.boolValue == true
        errorMessage = answer["error"].flatMap(Self.errorText)
        // A Responses API answer (Ollama's `/v1/responses`, relayed as it is) counts its tokens in `usage`.
        promptEvalCount = answer["prompt_eval_count"]?.intValue ?? answer["usage"]?["input_tokens"]?.intValue
        evalCount = answer["eval_count"]?.intValue ?? answer["usage"]?["output_tokens"]?.intValue
        loadDuration = answer["load_duration"]?.intValue
        totalDuration = answer["total_duration"]?.intValue
        promptEvalDuration = answer["prompt_eval_duration"]?.intValue
        evalDuration = answer["eval_duration"]?.intValue
    }

    package init() {}

    /// An error value's text: Ollama's string, or the `message` of an OpenAI-style error object.
    package static func errorText(_ value: JSONValue) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text
        default: return value["message"]?.stringValue ?? value.serializedString()
        }
    }
}

/// A forward-only walk over one JSON object's top level.
private struct TopLevelScanner {
    package let bytes: UnsafeRawBufferPointer
    package var index = 0

    package init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    package mutating func facts() throws(APIError) -> StreamChunkFacts {
        var facts = StreamChunkFacts()
        skipWhitespace()
        try expect(0x7B)
        skipWhitespace()
        if peek() == 0x7D {
            index += 1
            return try finish(facts)
        }
        while true {
            skipWhitespace()
            let key = try readKey()
            skipWhitespace()
            try expect(0x3A)
            skipWhitespace()
            switch key {
            case .done:
                facts.isFinal = try readDone()
            case .error:
                let value = try parseValue()
                facts.errorMessage = StreamChunkFacts.errorText(value)
            case .promptEvalCount:
                facts.promptEvalCount = try parseValue().intValue
            case .evalCount:
                facts.evalCount = try parseValue().intValue
            case .loadDuration:
                facts.loadDuration = try parseValue().intValue
            case .totalDuration:
                facts.totalDuration = try parseValue().intValue
            case .promptEvalDuration:
                facts.promptEvalDuration = try parseValue().intValue
            case .evalDuration:
                facts.evalDuration = try parseValue().intValue
            case .other:
                try skipValue()
            }
            skipWhitespace()
            switch next() {
            case 0x2C: continue
            case 0x7D: return try finish(facts)
            default: throw malformed("expected ',' or '}' after an object member")
            }
        }
    }

    private func finish(_ facts: StreamChunkFacts) throws(APIError) -> StreamChunkFacts {
        var rest = self
        rest.skipWhitespace()
        guard rest.index == bytes.count else { throw malformed("unexpected bytes after the JSON object") }
        return facts
    }

    package enum Key {
        case done, error, promptEvalCount, evalCount, loadDuration, totalDuration, promptEvalDuration, evalDuration, other
    }

    private static let names: [([UInt8], Key)] = [
        (Array("done".utf8), .done), (Array("error".utf8), .error), (Array("prompt_eval_count".utf8), .promptEvalCount),
        (Array("eval_count".utf8), .evalCount), (Array("load_duration".utf8), .loadDuration),
        (Array("total_duration".utf8), .totalDuration), (Array("prompt_eval_duration".utf8), .promptEvalDuration),
        (Array("eval_duration".utf8), .evalDuration),
    ]

    /// A key compared as raw bytes; one with escapes in it is decoded first.
    private mutating func readKey() throws(APIError) -> Key {
        guard peek() == 0x22 else { throw malformed("expected a string key") }
        let start = index + 1
        var hasEscape = false
        index += 1
        while true {
            guard index < bytes.count else { throw malformed("unterminated string") }
            let byte = bytes[index]
            if byte == 0x5C {
                hasEscape = true
                index += 2
                continue
            }
            index += 1
            if byte == 0x22 { break }
        }
        let end = index - 1
        if hasEscape {
            guard case .string(let decoded) = try parse(from: start - 1, to: index) else { throw malformed("bad key") }
            return Self.names.first { $0.0.elementsEqual(decoded.utf8) }?.1 ?? .other
        }
        let length = end - start
        for (name, key) in Self.names where name.count == length {
            var same = true
            for offset in 0..<length where bytes[start + offset] != name[offset] {
                same = false
                break
            }
            if same { return key }
        }
        return .other
    }

    /// `done` is on every chunk of a stream: its literal is compared where it lies, without copying
    /// or parsing it; only a value of another type goes through the parser (to be checked).
    private mutating func readDone() throws(APIError) -> Bool {
        let start = index
        try skipValue()
        let length = index - start
        func spells(_ word: StaticString) -> Bool {
            length == word.utf8CodeUnitCount && (0..<length).allSatisfy { bytes[start + $0] == word.utf8Start[$0] }
        }
        if spells("true") { return true }
        if spells("false") || spells("null") { return false }
        return try parse(from: start, to: index).boolValue == true
    }

    /// Parses one value with the strict parser, where it lies.
    private mutating func parseValue() throws(APIError) -> JSONValue {
        let start = index
        try skipValue()
        return try parse(from: start, to: index)
    }

    private func parse(from start: Int, to end: Int) throws(APIError) -> JSONValue {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        do {
            return try JSONParser.parse(Array(slice))
        } catch {
            throw malformed("\(error)")
        }
    }

    /// Moves past one value without building it: strings to their closing quote, containers to
    /// their matching bracket, scalars to the next delimiter.
    private mutating func skipValue() throws(APIError) {
        guard index < bytes.count else { throw malformed("unexpected end of JSON input") }
        switch bytes[index] {
        case 0x22:
            try skipString()
        case 0x7B, 0x5B:
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    try skipString()
                    continue
                }
                if byte == 0x7B || byte == 0x5B { depth += 1 }
                if byte == 0x7D || byte == 0x5D {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return
                    }
                }
                index += 1
            }
            throw malformed("unexpected end of JSON input")
        default:
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x2C || byte == 0x7D || byte == 0x5D || JSONStreamSplitter.isWhitespace(byte) { break }
                index += 1
            }
            if index == start { throw malformed("expected a value") }
        }
    }

    private mutating func skipString() throws(APIError) {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x5C {
                index += 2
                continue
            }
            index += 1
            if byte == 0x22 { return }
        }
        throw malformed("unterminated string")
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, JSONStreamSplitter.isWhitespace(bytes[index]) { index += 1 }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func next() -> UInt8? {
        defer { index += 1 }
        return peek()
    }

    private mutating func expect(_ byte: UInt8) throws(APIError) {
        guard next() == byte else { throw malformed("expected '\(Character(UnicodeScalar(byte)))'") }
    }

    private func malformed(_ reason: String) -> APIError {
        APIError(status: 502, "upstream sent malformed JSON: \(reason)")
    }
}
