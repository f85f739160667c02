// libFuzzer target: a zstd request body decoded with the process's libzstd (`Zstd.decompress`) on
// arbitrary bytes. Any crash, hang, trap or sanitizer report is a finding; a body refused as corrupt
// or too large is not. What decodes must stay within the limit given.
// Built by Fuzz/run.sh together with Sources/WireFormats.
import WireFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func zstdBodyFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    precondition(Zstd.isAvailable)
    if let decoded = try? Zstd.decompress(bytes, maxOutputBytes: 256 * 1024) { precondition(decoded.count <= 256 * 1024) }
    return 0
}
