// libFuzzer target: the HTTP/1.1 head parser (request and status lines included), body framing and the chunked decoder, on
// arbitrary bytes. Any crash, trap or sanitizer report is a finding; thrown parse errors are not.
// Built by Fuzz/run.sh together with Sources/HTTP1.
@testable import HTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func httpRequestFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let buffer = ReadBuffer()
    buffer.append(bytes)
    guard let headEnd = buffer.firstOffset(of: [13, 10, 13, 10]) else { return 0 }
    let head: HTTPHeadParser.Head
    do {
        head = try HTTPHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[..<headEnd]), startLineParts: 3)
    } catch { return 0 }
    // The same head read as a request and as a response: the start-line checks are the parser's too.
    if let request = try? HTTPHeadParser.request(head) {
        precondition(request.versionMinor == 0 || request.versionMinor == 1)
        precondition(request.target.hasPrefix("/") || request.target == "*")
    }
    if let response = try? HTTPHeadParser.response(head) { precondition((100...999).contains(response.status)) }
    buffer.consume(headEnd + 4)
    guard let framing = try? BodyFraming.forRequest(head.headers) else { return 0 }
    if case .chunked = framing {
        var decoder = ChunkedDecoder()
        var pending = 0
        var total = 0
        while true {
            guard let output = try? decoder.next(from: buffer, pendingConsume: &pending) else { break }
            switch output {
            case .data(let piece):
                total += piece.count
                pending = piece.count
                if total > 1 << 24 { return 0 }
            case .needMore, .end:
                return 0
            }
        }
    }
    return 0
}
