#if canImport(Glibc)
    import Glibc
#endif

/// Decodes zstd request bodies (`Content-Encoding: zstd`, which OpenAI's Codex sends and Ollama
/// accepts) with the libzstd that FoundationNetworking's libcurl already loads into the process:
/// no package and no library the binary did not already link. Where it is missing, `isAvailable`
/// is false and callers refuse such bodies as before.
public enum Zstd {
    public enum Failure: Error, Equatable {
        /// No libzstd in the process.
        case unavailable
        /// Not a complete zstd stream; libzstd's reason.
        case corrupt(String)
        /// It decodes to more than the limit given (a small body can expand a thousandfold).
        case tooLarge
    }

    public static var isAvailable: Bool { library != nil }

    /// The frames in `bytes`, decoded, refusing to produce more than `maxOutputBytes` or to use a
    /// window over 8 MiB (Go's decoder in Ollama allows the same), so a crafted body cannot take
    /// the memory of many.
    public static func decompress(_ bytes: [UInt8], maxOutputBytes: Int) throws(Failure) -> [UInt8] {
        guard let library else { throw .unavailable }
        guard let context = library.createContext() else { throw .unavailable }
        defer { _ = library.freeContext(context) }
        _ = library.setParameter(context, windowLogMaxParameter, 23)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var failure: Failure?
        bytes.withUnsafeBytes { source in
            var input = InputBuffer(source: source.baseAddress, size: source.count, position: 0)
            while failure == nil {
                let (result, produced) = chunk.withUnsafeMutableBytes { destination in
                    var out = OutputBuffer(destination: destination.baseAddress, size: destination.count, position: 0)
                    let result = withUnsafeMutableBytes(of: &out) { out in
                        withUnsafeMutableBytes(of: &input) { input in
                            library.decompressStream(context, out.baseAddress!, input.baseAddress!)
                        }
                    }
                    return (result, out.position)
                }
                if library.isError(result) != 0 {
                    failure = .corrupt(String(cString: library.errorName(result)))
                    break
                }
                guard output.count + produced <= maxOutputBytes else {
                    failure = .tooLarge
                    break
                }
                output.append(contentsOf: chunk[0..<produced])
                let allRead = input.position == input.size
                if result == 0 && allRead { break }  // every frame decoded and flushed
                if allRead && produced == 0 { failure = .corrupt("the body ends inside a zstd frame") }
            }
        }
        if let failure { throw failure }
        return output
    }

    /// `ZSTD_d_windowLogMax` in libzstd's `ZSTD_dParameter`.
    private static let windowLogMaxParameter: Int32 = 100

    /// `ZSTD_inBuffer` and `ZSTD_outBuffer`: a pointer and two `size_t`s, laid out as in C (passed
    /// to libzstd as raw pointers, since a Swift struct cannot appear in a C function's type).
    private struct InputBuffer {
        var source: UnsafeRawPointer?
        var size: Int
        var position: Int
    }

    private struct OutputBuffer {
        var destination: UnsafeMutableRawPointer?
        var size: Int
        var position: Int
    }

    /// libzstd's decoding calls, looked up once.
    private struct Library: @unchecked Sendable {  // C function pointers, immutable after lookup: nothing to race on
        let createContext: @convention(c) () -> OpaquePointer?
        let freeContext: @convention(c) (OpaquePointer?) -> Int
        let setParameter: @convention(c) (OpaquePointer?, Int32, Int32) -> Int
        let decompressStream: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int
        let isError: @convention(c) (Int) -> UInt32
        let errorName: @convention(c) (Int) -> UnsafePointer<CChar>

        init?() {
            #if canImport(Glibc)
                guard let handle = dlopen("libzstd.so.1", RTLD_NOW) ?? dlopen("libzstd.so", RTLD_NOW) else { return nil }
                func symbol<T>(_ name: String, as type: T.Type) -> T? {
                    dlsym(handle, name).map { unsafeBitCast($0, to: type) }
                }
                guard let create = symbol("ZSTD_createDCtx", as: (@convention(c) () -> OpaquePointer?).self),
                    let free = symbol("ZSTD_freeDCtx", as: (@convention(c) (OpaquePointer?) -> Int).self),
                    let set = symbol("ZSTD_DCtx_setParameter", as: (@convention(c) (OpaquePointer?, Int32, Int32) -> Int).self),
                    let stream = symbol(
                        "ZSTD_decompressStream",
                        as: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int)
                            .self),
                    let isError = symbol("ZSTD_isError", as: (@convention(c) (Int) -> UInt32).self),
                    let name = symbol("ZSTD_getErrorName", as: (@convention(c) (Int) -> UnsafePointer<CChar>).self)
                else { return nil }
                (createContext, freeContext, setParameter, decompressStream, self.isError, errorName) =
                    (create, free, set, stream, isError, name)
            #else
                return nil
            #endif
        }
    }

    private static let library = Library()
}
