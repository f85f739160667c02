import Testing
import WireFormats

/// Go writes timestamps with 0-9 fractional digits and `Z` or an offset; all must read back exactly.
@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2024-06-04T21:38:31Z", 1_717_537_111.0),
        ("2024-06-04T21:38:31.5Z", 1_717_537_111.5),
        ("2024-06-04T14:38:31.83753-07:00", 1_717_537_111.83753),
        ("2024-06-05T03:08:31.123456789+05:30", 1_717_537_111.123456789),
        ("2318-01-01T00:00:00Z", 10_981_785_600.0),
    ])
    func parsesGoTimestamps(text: String, seconds: Double) throws {
        let parsed = try #require(RFC3339.parse(text))
        #expect(abs(parsed - seconds) < 0.000_01)
    }

    @Test(arguments: ["", "2024-06-04", "2024-13-04T21:38:31Z", "2024-06-04T21:38:31", "2024-06-04T21:38:31.Z"])
    func refusesMalformedTimestamps(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(arguments: [0.0, 1_717_537_111.837, 10_981_785_600.5, 951_782_400.25])  // 1970, 2024, 2318, a leap day
    func formatsWhatItParses(seconds: Double) throws {
        let text = RFC3339.format(seconds)
        #expect(text.hasSuffix("Z"))
        let back = try #require(RFC3339.parse(text))
        #expect(abs(back - seconds) < 0.001)
    }
    @Test func formatsMillisecondsInUTC() {
        #expect(RFC3339.format(1_717_537_111.837) == "2024-06-04T21:38:31.837Z")
    }
}
