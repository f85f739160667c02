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
        // Sockets, the HTTP/1.1 codec, server and keep-alive client shared by the proxy and the simulator.
        .target(name: "HTTP1", dependencies: ["CEpoll"]),
        // <sys/epoll.h>, which Glibc's module map leaves out.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        // Node actors, placement and the config model: pure, no sockets.
        .target(name: "Balancer"),
        // Probes and health state; the transport is injected.
        .target(name: "Health", dependencies: ["Balancer"]),
        // The `tensorwall` executable: HTTP server, API translation, forwarding.
        .executableTarget(name: "Proxy", dependencies: ["HTTP1", "Balancer", "Health", "OllamaSimulator"]),

        // A simulated Ollama node: for tests and benchmarks, and the farm `tensorwall demo` runs.
        .target(name: "OllamaSimulator", dependencies: ["HTTP1", "Balancer"]),
        .executableTarget(name: "ollama-sim", dependencies: ["OllamaSimulator"], path: "Tests/ollama-sim"),

        // The trace-driven placement benchmark (Benchmarks/placement.sh runs it).
        .executableTarget(
            name: "placement-bench", dependencies: ["OllamaSimulator", "HTTP1", "Balancer"], path: "Benchmarks/PlacementBenchmark"),

        // Open-loop latency and streaming fan-out load generator (Benchmarks/proxy_vs_nginx.sh, Benchmarks/streams.sh).
        .executableTarget(name: "proxy-bench", dependencies: ["HTTP1", "Balancer", "Health"], path: "Benchmarks/ProxyBenchmark"),

        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"]),
        .testTarget(name: "BalancerTests", dependencies: ["Balancer"]),
        .testTarget(name: "HealthTests", dependencies: ["Health", "Balancer"]),
        .testTarget(name: "OllamaSimulatorTests", dependencies: ["OllamaSimulator", "HTTP1", "Balancer"]),
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "HTTP1", "Balancer", "Health", "OllamaSimulator"]),
    ],
    swiftLanguageModes: [.v6]
)
