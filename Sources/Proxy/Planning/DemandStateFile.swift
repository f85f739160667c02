import Balancer
import Foundation
import WireFormats

/// The small file `stateFile` names: each model's request rate and service time, so that a
/// restarted TensorWall plans copies of what was hot from its first probe round instead of
/// learning demand again while clients wait on cold loads, and the `num_ctx` its requests mostly
/// asked, so those copies are loaded for it (`RunnerContexts`). Written whole to a temporary file
/// and renamed over the old one, so a crash mid-write never leaves half a file.
struct DemandStateFile: Sendable {
    let path: String

    /// What an earlier run saved and how many seconds ago; nil when there is no usable file.
    func load(now: Double = WallClock.now()) -> (
        state: [ModelName: (rate: Double, serviceSeconds: Double)], contextLengths: [ModelName: Int], age: Double
    )? {
        guard let data = FileManager.default.contents(atPath: path), let document = try? JSONParser.parse([UInt8](data)),
            let savedAt = document["savedAt"]?.doubleValue, let models = document["models"]?.objectValue
        else { return nil }
        var state: [ModelName: (rate: Double, serviceSeconds: Double)] = [:]
        var contextLengths: [ModelName: Int] = [:]
        for (name, entry) in models {
            guard let model = ModelName(name), let rate = entry["rate"]?.doubleValue, let service = entry["serviceSeconds"]?.doubleValue,
                rate >= 0, rate.isFinite, service > 0, service.isFinite
            else { continue }
            state[model] = (rate, service)
            if let length = entry["contextLength"]?.intValue, length > 0, length <= Int64(Int32.max) { contextLengths[model] = Int(length) }
        }
        return (state, contextLengths, max(0, now - savedAt))
    }

    /// Replaces the file; false (and the old file kept) when it cannot be written.
    @discardableResult
    func save(
        _ state: [ModelName: (rate: Double, serviceSeconds: Double)], contextLengths: [ModelName: Int] = [:], now: Double = WallClock.now()
    ) -> Bool {
        var models: [(key: String, value: JSONValue)] = []
        for (model, entry) in state.sorted(by: { $0.key < $1.key }) {
            var saved: JSONObject = ["rate": .double(entry.rate), "serviceSeconds": .double(entry.serviceSeconds)]
            if let length = contextLengths[model] { saved["contextLength"] = .int(Int64(length)) }
            models.append((model.canonical, .object(saved)))
        }
        let document: JSONValue = ["savedAt": .double(now), "models": .object(JSONObject(models))]
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(document.serialized())) else { return false }
        return rename(temporary, path) == 0
    }
}
