// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "TensorWall",
    products: [
        .executable(name: "tensorwall", targets: ["Proxy"]),
        .executable(name: "ollama-sim", targets: ["ollama-sim"]),
        .executable(name: "placement-bench", targets: ["placement-bench"]),
        .executable(name: "proxy-bench", targets: ["proxy-bench"]),
    ],
    targets: [
        // What every other module reads and writes: JSON (parse, serialize, split a stream of values),
        // base64, SHA-256, RFC 3339 timestamps, the wall clock, trimming. No sockets, no policy.
        .target(name: "WireFormats"),
        // Sockets, the HTTP/1.1 codec, server and keep-alive client shared by the proxy and the simulator.
        .target(name: "HTTP1", dependencies: ["CEpoll", "WireFormats"]),
        // <sys/epoll.h>, which Glibc's module map leaves out.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // Node actors, placement and the config model: pure, no sockets.
        .target(name: "Balancer", dependencies: ["WireFormats"]),
        // Probes and health state; the transport is injected.
        .target(name: "Health", dependencies: ["Balancer", "WireFormats"]),
        // OpenAI <-> Ollama translation of requests and answers, and reading a node's stream: pure
        // functions of bytes, imported directly by the fuzzers and the tests.
        .target(name: "APITranslation", dependencies: ["Balancer", "WireFormats"]),
        // The `tensorwall` executable: HTTP server, routing, forwarding, operator views.
        .executableTarget(
            name: "Proxy", dependencies: ["HTTP1", "Balancer", "Health", "OllamaSimulator", "WireFormats", "APITranslation"]),

        // A simulated Ollama node: for tests and benchmarks, and the farm `tensorwall demo` runs.
        .target(name: "OllamaSimulator", dependencies: ["HTTP1", "WireFormats"]),
        .executableTarget(name: "ollama-sim", dependencies: ["OllamaSimulator", "WireFormats"], path: "Tests/ollama-sim"),

        // The trace-driven placement benchmark (Benchmarks/placement.sh runs it).
        .executableTarget(
            name: "placement-bench", dependencies: ["OllamaSimulator", "HTTP1", "Balancer", "WireFormats"],
            path: "Benchmarks/PlacementBenchmark"),

        // Open-loop latency and streaming fan-out load generator (Benchmarks/proxy_vs_nginx.sh, Benchmarks/streams.sh).
        .executableTarget(
            name: "proxy-bench", dependencies: ["HTTP1", "Balancer", "Health", "WireFormats"], path: "Benchmarks/ProxyBenchmark"),

        .testTarget(name: "WireFormatsTests", dependencies: ["WireFormats"]),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer", "WireFormats"]),
        .testTarget(name: "HealthTests", dependencies: ["Health", "Balancer", "WireFormats"]),
        .testTarget(name: "OllamaSimulatorTests", dependencies: ["OllamaSimulator", "HTTP1", "Balancer", "WireFormats"]),
        .testTarget(name: "APITranslationTests", dependencies: ["APITranslation", "Balancer", "WireFormats"]),
        .testTarget(
            name: "ProxyTests", dependencies: ["Proxy", "HTTP1", "Balancer", "Health", "OllamaSimulator", "WireFormats", "APITranslation"]),
    ],
    swiftLanguageModes: [.v6]
)
