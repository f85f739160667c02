import Balancer
import WireFormats

/// Reads Ollama's `/api/tags` and `/api/ps` answers into the balancer's inventory.
public enum ProbeDecoding {
    public static func pulledModels(from body: [UInt8]) throws -> [PulledModel] {
        try models(in: body, endpoint: "/api/tags").compactMap { entry in
            guard let raw = entry["name"]?.stringValue ?? entry["model"]?.stringValue, let name = ModelName(raw) else { return nil }
            return PulledModel(
                name: name, displayName: raw, sizeBytes: entry["size"]?.intValue ?? 0, digest: entry["digest"]?.stringValue ?? "",
                modifiedAt: entry["modified_at"]?.stringValue.flatMap(RFC3339.parse))
        }
    }

    /// `/api/version`'s `version`, if it is a plausible version string (at most 64 letters, digits and
    /// `.-+_`): it is shown to the operator as the node gave it.
    public static func version(from body: [UInt8]) -> String? {
        guard let version = (try? JSONParser.parse(body))?["version"]?.stringValue, !version.isEmpty, version.utf8.count <= 64,
            version.unicodeScalars.allSatisfy({
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-+_".unicodeScalars.contains($0))
            })
        else { return nil }
        return version
    }

    public static func loadedModels(from body: [UInt8]) throws -> [LoadedModel] {
        try models(in: body, endpoint: "/api/ps").compactMap { entry in
            guard let raw = entry["name"]?.stringValue ?? entry["model"]?.stringValue, let name = ModelName(raw) else { return nil }
            let size = entry["size"]?.intValue ?? 0
            return LoadedModel(
                name: name, sizeBytes: size, vramBytes: entry["size_vram"]?.intValue ?? size,
                expiresAt: entry["expires_at"]?.stringValue.flatMap(RFC3339.parse),
                contextLength: entry["context_length"]?.intValue.flatMap { $0 > 0 ? Int($0) : nil })
        }
    }

    /// Reads `/api/show`'s answer for what sets the model's automatic context length: `num_ctx`
    /// among the Modelfile's `parameters` (one `name value` per line, as `ollama show` prints them),
    /// and the trained length, `<general.architecture>.context_length` in `model_info`.
    public static func contextFacts(fromShow body: [UInt8]) throws -> ModelContextFacts {
        let document: JSONValue
        do { document = try JSONParser.parse(body) } catch { throw ProbeFailure("/api/show: invalid JSON: \(error)") }
        guard document.objectValue != nil else { throw ProbeFailure("/api/show: not an object") }
        var modelfileLength: Int?
        for line in (document["parameters"]?.stringValue ?? "").split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count == 2, words[0] == "num_ctx", let length = Int(words[1]), length > 0 else { continue }
            modelfileLength = length
        }
        var trainedLength: Int?
        if let info = document["model_info"], let architecture = info["general.architecture"]?.stringValue,
            let length = info[architecture + ".context_length"]?.intValue, length > 0
        {
            trainedLength = Int(length)
        }
        return ModelContextFacts(
            modelfileLength: modelfileLength, trainedLength: trainedLength, runnerFiles: runnerFiles(inModelfile: document["modelfile"]))
    }

    /// The `FROM` and `ADAPTER` lines of the Modelfile `ollama show` prints (comments left out): the
    /// blobs Ollama loads a runner from, which it names by their `sha256` digest. Nil unless every
    /// such line names a blob: a Modelfile that names no files says nothing of the runner. The
    /// `PARAMETER` lines for the options a runner is started with (`runnerParameters`) follow, in
    /// order: a request whose model sets others makes Ollama reload the runner (`needsReload`), so
    /// two models that differ in them do not share it.
    static func runnerFiles(inModelfile modelfile: JSONValue?) -> String? {
        var files: [String] = []
        var parameters: [String] = []
        for raw in (modelfile?.stringValue ?? "").split(whereSeparator: \.isNewline) {
            let words = raw.split(whereSeparator: \.isWhitespace)
            guard let keyword = words.first?.uppercased() else { continue }
            if keyword == "FROM" || keyword == "ADAPTER" {
                files.append(words.joined(separator: " "))
            } else if keyword == "PARAMETER", words.count == 3, runnerParameters.contains(words[1].lowercased()),
                !(words[1].lowercased() == "num_gpu" && words[2] == "-1")
            {
                parameters.append("PARAMETER \(words[1].lowercased()) \(words[2])")
            }
        }
        guard !files.isEmpty, files.allSatisfy({ $0.contains("sha256") }) else { return nil }
        return (files + parameters.sorted()).joined(separator: "\n")
    }

    /// The options Ollama starts a runner with besides its context length (`api.Runner`, which
    /// `needsReload` compares; `num_ctx` is compared on its own). `num_gpu -1` is Ollama's default,
    /// the same as leaving it out.
    static let runnerParameters: Set<String> = ["num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread"]

    private static func models(in body: [UInt8], endpoint: String) throws -> [JSONValue] {
        let document: JSONValue
        do { document = try JSONParser.parse(body) } catch { throw ProbeFailure("\(endpoint): invalid JSON: \(error)") }
        guard let models = document["models"] else { throw ProbeFailure("\(endpoint): no \"models\" field") }
        if models.isNull { return [] }
        guard let list = models.arrayValue else { throw ProbeFailure("\(endpoint): \"models\" is not an array") }
        return list
    }
}
