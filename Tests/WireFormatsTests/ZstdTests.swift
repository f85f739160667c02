import Testing
import WireFormats

/// zstd bodies decoded with the process's libzstd; the frames were written by the `zstd` command.
@Suite struct ZstdTests {
    /// `{"model":"llama3.2","input":"Say hi"}`, as `zstd` compresses it.
    static let responsesBody = Base64.decode("KLUv/QRYKQEAeyJtb2RlbCI6ImxsYW1hMy4yIiwiaW5wdXQiOiJTYXkgaGkifdQGENw=")!

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func theLibraryIsInTheProcess() {
        // FoundationNetworking's libcurl links libzstd on Linux: without it compressed bodies get 415.
        #expect(Zstd.isAvailable)
    }

    @Test func decodesAFrameAndFramesOneAfterAnother() throws {
        #expect(text(try Zstd.decompress(Self.responsesBody, maxOutputBytes: 1000)) == #"{"model":"llama3.2","input":"Say hi"}"#)
        let twoFrames = Base64.decode("KLUv/QRYMQAAaGVsbG8g0jvhqSi1L/0EWCkAAHdvcmxk71HuZg==")!
        #expect(text(try Zstd.decompress(twoFrames, maxOutputBytes: 1000)) == "hello world")
    }

    @Test func aBodyThatExpandsPastTheLimitIsRefused() throws {
        // A million zero bytes in 50.
        let bomb = Base64.decode("KLUv/QRoTAAACAABAPz/ORACAgAQAAIAEAACABAAAgAQAAIAEAACABAAAxIKAMyuyjk=")!
        #expect(bomb.count == 50)
        #expect(throws: Zstd.Failure.tooLarge) { try Zstd.decompress(bomb, maxOutputBytes: 64 * 1024) }
        #expect(try Zstd.decompress(bomb, maxOutputBytes: 1_000_000).count == 1_000_000)
    }

    @Test func aFrameAskingForAWindowOver8MiBIsRefused() {
        // "hello" from `zstd --long=27 --no-content-size`: a 128 MiB window declared.
        let wide = Base64.decode("KLUv/QSIKQAAaGVsbG+jbZ+I")!
        #expect {
            try Zstd.decompress(wide, maxOutputBytes: 1000)
        } throws: { error in
            guard case .corrupt(let reason) = error as? Zstd.Failure else { return false }
            return reason.contains("memory")
        }
    }

    @Test(arguments: [
        Array(Self.responsesBody.dropLast(6)),  // cut inside the frame
        Array(#"{"model":"llama3.2"}"#.utf8),  // not compressed at all
        [0x28, 0xB5, 0x2F, 0xFD],  // a magic number and nothing after it
    ])
    func whatIsNotACompleteStreamIsCorrupt(bytes: [UInt8]) {
        #expect {
            try Zstd.decompress(bytes, maxOutputBytes: 1000)
        } throws: { error in
            if case .corrupt = error as? Zstd.Failure { return true }
            return false
        }
    }
}
