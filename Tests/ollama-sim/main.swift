import Foundation
@preconcurrency import Glibc
import OllamaSimulator

// A simulated Ollama node for the Python client checks and the benchmarks:
//   ollama-sim --port 11434 --name gpu1 --model llama3.2=2.0 --model llava=4.7 [--registry phi3=2.2] [--parallel 4] [--time-scale 0.01] [--version 0.12.6]
//     [--encoding go|spaced|pretty|reordered|unicodeEscaped|crlf|bytePerChunk]
var configuration = SimulatorConfiguration(name: "sim", models: [])
var arguments = CommandLine.arguments.dropFirst()
@MainActor func value(_ flag: String) -> String {
    guard let next = arguments.popFirst() else {
        FileHandle.standardError.write(Data("ollama-sim: \(flag) needs a value\n".utf8))
        exit(2)
    }
    return next
}
@MainActor func number(_ flag: String) -> Double {
    let text = value(flag)
    guard let parsed = Double(text) else {
        FileHandle.standardError.write(Data("ollama-sim: \(flag) expects a number, got \(text)\n".utf8))
        exit(2)
    }
    return parsed
}
var preload: [String] = []
while let flag = arguments.popFirst() {
    switch flag {
    case "--port": configuration.port = Int(number(flag))
    case "--host": configuration.host = value(flag)
    case "--name": configuration.name = value(flag)
    case "--model":
        let spec = value(flag).split(separator: "=", maxSplits: 1)
        configuration.models.append(SimulatedModel(String(spec[0]), sizeGB: spec.count > 1 ? Double(spec[1]) ?? 2 : 2))
    case "--registry":
        let spec = value(flag).split(separator: "=", maxSplits: 1)
        configuration.registry.append(SimulatedModel(String(spec[0]), sizeGB: spec.count > 1 ? Double(spec[1]) ?? 2 : 2))
    case "--version": configuration.version = value(flag)
    case "--preload": preload.append(value(flag))
    case "--parallel": configuration.numParallel = Int(number(flag))
    case "--max-loaded": configuration.maxLoadedModels = Int(number(flag))
    case "--vram-gb": configuration.vramBytes = Int64(number(flag) * 1e9)
    case "--load-seconds-per-gb": configuration.loadSecondsPerGB = number(flag)
    case "--load-base-seconds": configuration.loadBaseSeconds = number(flag)
    case "--tokens-per-second": configuration.tokensPerSecond = number(flag)
    case "--response-tokens": configuration.responseTokens = Int(number(flag))
    case "--time-scale": configuration.timeScale = number(flag)
    case "--keep-alive-seconds": configuration.keepAliveSeconds = number(flag)
    case "--encoding":
        let name = value(flag)
        guard let encoding = AnswerEncoding(rawValue: name) else {
            let known = AnswerEncoding.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("ollama-sim: unknown encoding \(name) (known: \(known))\n".utf8))
            exit(2)
        }
        configuration.encoding = encoding
    default:
        FileHandle.standardError.write(Data("ollama-sim: unknown flag \(flag)\n".utf8))
        exit(2)
    }
}
if configuration.models.isEmpty { configuration.models = [SimulatedModel("llama3.2", sizeGB: 2.0)] }
let simulator = OllamaSimulator(configuration)
do {
    let port = try simulator.start()
    for name in preload { await simulator.preload(name) }
    print("ollama-sim \(configuration.name) listening on \(configuration.host):\(port)")
    _ = fflush(nil)  // nil flushes every stream, without touching the C global
} catch {
    FileHandle.standardError.write(Data("ollama-sim: \(error)\n".utf8))
    exit(1)
}
while true { try? await Task.sleep(for: .seconds(3600)) }
