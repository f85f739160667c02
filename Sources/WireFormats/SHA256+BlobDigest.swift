import Foundation

extension SHA256 {
    /// A blob's name as Ollama gives it (`/api/blobs/DIGEST`, `files` in `/api/create`): `sha256:`
    /// and the digest's 64 lowercase hex digits.
    public static func blobDigest(_ bytes: [UInt8]) -> String { "sha256:" + hex(digest(bytes)) }

    /// Ollama's rule for a blob's name (`manifest.BlobsPath`): `sha256:` or `sha256-`, then 64 hex
    /// digits of either case.
    public static func isBlobDigest(_ name: String) -> Bool {
        let digits = name.utf8.dropFirst(7)
        return (name.hasPrefix("sha256:") || name.hasPrefix("sha256-")) && digits.count == 64
            && digits.allSatisfy { (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0) }
    }

    /// One spelling per blob, `sha256:` and lowercase digits, for keeping blobs by name.
    public static func canonicalBlobDigest(_ name: String) -> String {
        name.replacingOccurrences(of: "sha256-", with: "sha256:").lowercased()
    }
}
