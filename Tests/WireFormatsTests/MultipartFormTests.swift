import Testing
import WireFormats

@Suite struct MultipartFormTests {
    /// A form as the `openai` package sends one: CRLF lines, a file part and text fields.
    static func form(_ lineEnd: String = "\r\n", boundary: String = "b0und", model: String = "whisper") -> [UInt8] {
        let parts = [
            "--\(boundary)", #"Content-Disposition: form-data; name="model""#, "", model,
            "--\(boundary)", #"Content-Disposition: form-data; name="file"; filename="a \"b\".wav""#, "Content-Type: audio/wav", "",
            "RIFF\u{0}\u{1}data", "--\(boundary)", #"content-disposition: form-data; name=response_format"#, "", "text",
            "--\(boundary)--", "",
        ]
        return Array(parts.joined(separator: lineEnd).utf8)
    }

    @Test(arguments: ["\r\n", "\n"])
    func readsFieldsAndFilesWhateverTheLineEnds(lineEnd: String) throws {
        let body = Self.form(lineEnd)
        let form = try MultipartForm(body, boundary: "b0und")
        #expect(form.parts.map(\.name) == ["model", "file", "response_format"])
        #expect(form.value("model", in: body) == "whisper")
        #expect(form.value("response_format", in: body) == "text")
        let file = try #require(form.part(named: "file"))
        #expect(file.filename == #"a "b".wav"#)
        #expect(Array(body[file.content]) == Array("RIFF\u{0}\u{1}data".utf8))
        // A file is no field value, as Go's FormValue has it.
        #expect(form.value("file", in: body) == "")
        #expect(form.value("language", in: body) == "")
    }

    @Test func replacingAFieldKeepsEveryOtherByte() throws {
        let body = Self.form(model: "ollama/whisper")
        let form = try MultipartForm(body, boundary: "b0und")
        let replaced = form.replacing("model", with: "whisper", in: body)
        #expect(replaced == Self.form(model: "whisper"))
        #expect(try MultipartForm(replaced, boundary: "b0und").value("model", in: replaced) == "whisper")
    }

    @Test func anEmptyFieldRightBeforeItsDelimiterTakesAValue() throws {
        let body = Array("--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n--x--\r\n".utf8)
        let form = try MultipartForm(body, boundary: "x")
        #expect(form.value("model", in: body) == "")
        let replaced = form.replacing("model", with: "llama3.2", in: body)
        #expect(try MultipartForm(replaced, boundary: "x").value("model", in: replaced) == "llama3.2")
    }

    @Test func aPreambleAndAnEmptyPartAreRead() throws {
        let body = Array("preamble\r\n--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--x--\r\n".utf8)
        let form = try MultipartForm(body, boundary: "x")
        #expect(form.parts.count == 1)
        #expect(form.value("a", in: body) == "")
    }

    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"), (#"Multipart/Form-Data; charset=utf-8; Boundary="a b""#, "a b"),
    ])
    func theBoundaryComesFromTheContentType(contentType: String, boundary: String) throws {
        #expect(try MultipartForm.boundary(contentType: contentType) == boundary)
    }

    @Test func otherContentTypesGetGosErrors() {
        #expect(throws: MultipartForm.Failure("request Content-Type isn't multipart/form-data")) {
            try MultipartForm.boundary(contentType: "application/json")
        }
        #expect(throws: MultipartForm.Failure("request Content-Type isn't multipart/form-data")) {
            try MultipartForm.boundary(contentType: nil)
        }
        #expect(throws: MultipartForm.Failure("no multipart boundary param in Content-Type")) {
            try MultipartForm.boundary(contentType: "multipart/form-data")
        }
    }

    @Test(arguments: [
        "", "--b0und", "--b0und\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "garbage", "--b0und\r\nno colon\r\n\r\n",
    ])
    func aBrokenBodyThrowsAndNeverTraps(text: String) {
        #expect(throws: MultipartForm.Failure.self) { try MultipartForm(Array(text.utf8), boundary: "b0und") }
    }
}
