import HTTP1
import Testing
import WireFormats

@testable import Proxy

/// `POST /v1/audio/transcriptions`: OpenAI's transcription form, which a node's Ollama translates
/// itself. TensorWall places it by the form's `model`, refuses what Ollama would refuse, and sends
/// the form on unchanged but for the model's name, to a node or, on a route with cloud targets, to
/// a cloud endpoint's own `/audio/transcriptions`.
@Suite(.stopsFarms) struct AudioTranscriptionTests {
    static let boundary = "----tensorwall-test"
    static let audio = "RIFF\u{0}\u{1}\u{2}WAVEfmt data"

    /// A form as the `openai` package builds one; a nil field is left out.
    static func form(model: String? = "llama3.2", file: String? = audio, responseFormat: String? = nil) -> String {
        var lines: [String] = []
        func field(_ name: String, _ value: String?) {
            guard let value else { return }
            lines += ["--\(boundary)", #"Content-Disposition: form-data; name="\#(name)""#, "", value]
        }
        field("model", model)
        if let file {
            lines += [
                "--\(boundary)", #"Content-Disposition: form-data; name="file"; filename="hello.wav""#, "Content-Type: audio/wav", "", file,
            ]
        }
        field("response_format", responseFormat)
        lines += ["--\(boundary)--", ""]
        return lines.joined(separator: "\r\n")
    }

    static let headers: HTTPHeaders = [
        "X-API-Key": TestFarm.key, "Content-Type": "multipart/form-data; boundary=\(boundary)",
    ]

    @Test func theFormGoesToANodeWithTheModelAndItsAnswerComesBackUntouched() async throws {
        let farm = try await TestFarm.start([.init(models: ["mistral"]), .init(models: ["llama3.2"], preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.text(
            "POST", "/v1/audio/transcriptions", body: Self.form(model: "ollama/llama3.2"), headers: Self.headers)
        #expect(answer.status == 200)
        #expect(answer.headers["Content-Type"] == "application/json")
        let text = try JSONParser.parse(Array(answer.body.utf8))["text"]?.stringValue
        #expect(text?.isEmpty == false)
        #expect(answer.body.hasSuffix("}\n"), "Go's encoder's newline, passed on")
        // The node saw the client's form, byte for byte, but for the name it can resolve.
        let sent = try #require(farm.nodes[1].lastForm("/v1/audio/transcriptions"))
        #expect(sent.contentType == Self.headers["Content-Type"])
        #expect(sent.body == Array(Self.form(model: "llama3.2").utf8))
        #expect(farm.nodes[0].requestCount("/v1/audio/transcriptions") == 0)

        let plain = try await farm.text(
            "POST", "/v1/audio/transcriptions", body: Self.form(responseFormat: "text"), headers: Self.headers)
        #expect(plain.status == 200)
        #expect(plain.headers["Content-Type"] == "text/plain")
        #expect(plain.body == text)
        // Both answers came whole: counted as served, not as answers cut off (502).
        var metrics = ""
        #expect(
            await farm.eventually {
                metrics = (try? await farm.text("GET", "/metrics", headers: [:]).body) ?? ""
                return metrics.contains(#"tensorwall_requests_total{key="tests",model="llama3.2",node="node1",status="200"} 1"#)
            })
        #expect(metrics.contains(#"tensorwall_requests_total{key="tests",model="ollama/llama3.2",node="node1",status="200"} 1"#))
        #expect(!metrics.contains(#"status="502""#))
    }

    @Test(arguments: [
        (form(), "application/json", 400, "failed to parse multipart form: request Content-Type isn't multipart/form-data"),
        (form(), "multipart/form-data", 400, "failed to parse multipart form: no multipart boundary param in Content-Type"),
        ("not a form", "multipart/form-data; boundary=\(boundary)", 400, "failed to parse multipart form: multipart: NextPart: EOF"),
        (form(model: nil), "multipart/form-data; boundary=\(boundary)", 400, "model is required"),
        (form(file: nil), "multipart/form-data; boundary=\(boundary)", 400, "file is required: http: no such file"),
        (form(file: ""), "multipart/form-data; boundary=\(boundary)", 400, "audio file is empty"),
        (form(model: "whisper"), "multipart/form-data; boundary=\(boundary)", 404, "model 'whisper' not found"),
    ])
    func whatOllamaRefusesIsRefusedInOpenAIsShapeBeforeANodeSeesIt(body: String, contentType: String, status: Int, message: String)
        async throws
    {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"])])
        try await farm.waitUntilAllHealthy()
        let answer = try await farm.json(
            "POST", "/v1/audio/transcriptions", body: body, headers: ["X-API-Key": TestFarm.key, "Content-Type": contentType])
        #expect(answer.status == status)
        #expect(answer.body["error"]?["message"]?.stringValue == message)
        #expect(answer.body["error"]?["type"]?.stringValue != nil)
        #expect(farm.nodes[0].requestCount("/v1/audio/transcriptions") == 0)
    }

    @Test func aRouteWithCloudTargetsSendsTheFormToTheCloudWhenTheFarmCannot() async throws {
        let cloud = try await SimulatedCloud.start()
        let farm = try await cloud.farm(cloudOnly: "cloud-only", key: "sk-test-transcription")
        let headers = Self.headers
        // `hybrid` names `mistral`, which no node has, and then the cloud's `gpt-4`.
        let answer = try await farm.text("POST", "/v1/audio/transcriptions", body: Self.form(model: "hybrid"), headers: headers)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(try JSONParser.parse(Array(answer.body.utf8))["text"]?.stringValue?.isEmpty == false, "\(answer.body)")
        // The cloud saw the client's form but for its own name for the model, with the endpoint's key.
        let sent = try #require(cloud.simulator.lastForm("/v1/audio/transcriptions"))
        #expect(sent.contentType == Self.headers["Content-Type"])
        #expect(sent.body == Array(Self.form(model: "gpt-4").utf8))
        #expect(cloud.simulator.lastAuthorization("/v1/audio/transcriptions") == "Bearer sk-test-transcription")
        // A plain-text answer is relayed as the cloud labels it, not refused for not being JSON.
        let plain = try await farm.text(
            "POST", "/v1/audio/transcriptions", body: Self.form(model: "cloud-only", responseFormat: "text"), headers: headers)
        #expect(plain.status == 200, "\(plain.body)")
        #expect(plain.headers["Content-Type"] == "text/plain" && !plain.body.isEmpty && !plain.body.hasPrefix("{"), "\(plain.body)")
        // A route's farm target still comes first: the farm's `llama3.2` serves its own name.
        #expect(farm.nodes[0].requestCount("/v1/audio/transcriptions") == 0)
        let local = try await farm.text("POST", "/v1/audio/transcriptions", body: Self.form(model: "llama3.2"), headers: headers)
        #expect(local.status == 200 && farm.nodes[0].requestCount("/v1/audio/transcriptions") == 1)
        #expect(cloud.simulator.requestCount("/v1/audio/transcriptions") == 2)
    }
}
