import Testing
import WireFormats

/// The stamp on log lines and on the `created_at` TensorWall writes: RFC 3339 in UTC that Go (and
/// our own parser) reads back as the moment it was made.
@Suite struct UTCTimestampTests {
    @Test(arguments: [3, 6, 9])
    func aStampReadsBackAsNow(fractionDigits: Int) throws {
        let before = WallClock.now()
        let stamp = UTCTimestamp.now(fractionDigits: fractionDigits)
        let after = WallClock.now()
        #expect(stamp.utf8.count == 21 + fractionDigits, "\(stamp)")
        #expect(stamp.hasSuffix("Z") && Array(stamp.utf8)[19] == UInt8(ascii: "."), "\(stamp)")
        let parsed = try #require(RFC3339.parse(stamp))
        // Cut to the digits asked for (a millisecond at most); a Double holds seconds since 1970 to
        // about a quarter of a microsecond, hence the margin after.
        #expect(parsed <= after + 1e-6 && parsed > before - 0.001, "\(stamp)")
    }
}
