// libFuzzer target: the multipart/form-data reader (`/v1/audio/transcriptions`) on arbitrary bytes:
// the input's first line is the Content-Type, the rest the body. Any crash, trap or sanitizer
// report is a finding; thrown parse errors are not. A form read must keep every part inside the
// body, and a field replaced must leave a body that reads as the same parts.
// Built by Fuzz/run.sh together with Sources/WireFormats.
import WireFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func multipartFormFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let newline = bytes.firstIndex(of: 10) ?? bytes.count
    let contentType = String(decoding: bytes[..<newline], as: UTF8.self)
    let body = newline < bytes.count ? Array(bytes[(newline + 1)...]) : []
    guard let boundary = try? MultipartForm.boundary(contentType: contentType),
        let form = try? MultipartForm(body, boundary: boundary)
    else { return 0 }
    for part in form.parts { precondition(part.content.lowerBound >= 0 && part.content.upperBound <= body.count) }
    guard let model = form.part(named: "model"), model.filename == nil else { return 0 }
    let replaced = form.replacing("model", with: "llama3.2", in: body)
    // A field's new value may itself hold the boundary only if the old one did; "llama3.2" cannot.
    if !boundary.contains("llama3.2") && !"llama3.2".contains("--" + boundary) {
        if let again = try? MultipartForm(replaced, boundary: boundary) {
            precondition(again.parts.count == form.parts.count)
            precondition(again.value("model", in: replaced) == "llama3.2")
        }
    }
    _ = form.value("response_format", in: body)
    return 0
}
