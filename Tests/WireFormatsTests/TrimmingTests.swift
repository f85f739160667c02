import Testing
import WireFormats

@Suite struct TrimmingTests {
    @Test(arguments: [
        ("", ""), ("  ", ""), (" \t a b \t", "a b"), ("gw_key", "gw_key"), ("\tchunked ", "chunked"), (" \n x", "\n x"),
    ])
    func dropsSpacesAndTabsAtEitherEndOnly(text: String, trimmed: String) {
        #expect(text.trimmingSpacesAndTabs() == trimmed)
        #expect(text[...].trimmingSpacesAndTabs() == trimmed)
    }
}
