import Testing

@testable import WireFormats

@Suite struct JSONParserTests {
    @Test func parsesAndKeepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":[true,null,-2.5e3,"x\n\u00e9\ud83d\ude00"],"m":{}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["a"] == [true, nil, .double(-2500), "x\né😀"])
        #expect(value.serializedString() == #"{"z":1,"a":[true,null,-2500,"x\né😀"],"m":{}}"#)
    }

    @Test(arguments: [
        ("", "unexpected end of JSON input"),
        ("{\"a\":", "unexpected end of JSON input"),
        ("{\"a\" 1}", "invalid character '1' after object key"),
        ("[1,]", "invalid character ']' looking for beginning of value"),
        ("{} x", "invalid character 'x' after top-level value"),
        ("tru", "unexpected end of JSON input"),
        ("01", "invalid character '1' after top-level value"),
        ("\"a\tb\"", "invalid character '\\x9' in string literal"),
    ])
    func refusesMalformedInputLikeGo(input: String, message: String) {
        #expect(throws: JSONParseError(description: message)) { try JSONParser.parse(input) }
    }

    @Test func boundsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError(description: "exceeded max depth")) { try JSONParser.parse(deep) }
    }

    @Test func escapesControlCharactersWhenSerialising() {
        let value: JSONValue = ["k": .string("a\"b\\c\u{01}")]
        #expect(value.serializedString() == #"{"k":"a\"b\\c\u0001"}"#)
    }

    @Test(arguments: ["\"\tstarts and ends escaped\r\n", "plain", "", "\u{1F}", "é😀\\"])
    func serialisedStringsParseBackUnchanged(text: String) throws {
        let serialized = JSONValue.string(text).serialized()
        #expect(try JSONParser.parse(serialized).stringValue == text)
        #expect(!serialized.dropFirst().dropLast().contains { $0 < 0x20 })
    }
}
