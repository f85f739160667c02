import WireFormats

extension SHA256 {
    /// A blob's name as Ollama gives it: `sha256:` and the digest's 64 lowercase hex digits. The
    /// simulated node checks an upload against it as Ollama does, so a relay that dropped or
    /// reordered a byte is refused.
    public static func blobDigest(_ bytes: [UInt8]) -> String {
        "sha256:" + digest(bytes).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
