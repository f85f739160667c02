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

    private static func models(in body: [UInt8], endpoint: String) throws -> [JSONValue] {
        let document: JSONValue
        do { document = try JSONParser.parse(body) } catch { throw ProbeFailure("\(endpoint): invalid JSON: \(error)") }
        guard let models = document["models"] else { throw ProbeFailure("\(endpoint): no \"models\" field") }
        if models.isNull { return [] }
        guard let list = models.arrayValue else { throw ProbeFailure("\(endpoint): \"models\" is not an array") }
        return list
    }
}
