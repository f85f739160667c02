import Balancer
import HTTP1
import Testing
import WireFormats

@testable import Proxy

/// `tensorwall top` shows what `/status` says: the same nodes, loaded models, in-flight counts,
/// cold loads, queues and request counts.
@Suite(.stopsFarms) struct TopCommandTests {
    @Test func aFrameShowsTheNumbersStatusReports() async throws {
        let farm = try await TestFarm.start([.init(preload: ["llama3.2"]), .init()])
        try await farm.waitUntilAllHealthy()
        for _ in 0..<3 { #expect(try await farm.chat().status == 200) }
        #expect(try await farm.chat("missing-model").status == 404)
        farm.nodes[0].holdStreams(true)
        var held = EventReader(
            try await farm.request(
                "POST", "/v1/chat/completions", body: #"{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
        _ = try await held.next()

        let frame = await TopCommand.frame(
            NodeURL("http://127.0.0.1:\(farm.port)")!, url: "http://127.0.0.1:\(farm.port)", key: TestFarm.key, client: farm.client,
            view: StatusView(colour: false))
        #expect(frame.ok)
        let status = try await farm.json("GET", "/status").body
        let lines = frame.text.split(separator: "\n").map(String.init)
        #expect(lines[0].contains("nodes 2/2 healthy"))
        for node in status["nodes"]?.arrayValue ?? [] {
            let name = try #require(node["name"]?.stringValue)
            let line = try #require(lines.first { $0.hasPrefix(name + " ") })
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            #expect(cells[1] == node["health"]?.stringValue)
            #expect(cells[2] == String(node["inFlightTotal"]?.intValue ?? -1), "\(line)")
            #expect(cells[3] == String(node["coldLoadsStarted"]?.intValue ?? -1), "\(line)")
            for model in node["loadedModels"]?.arrayValue ?? [] {
                #expect(line.contains("\(model["name"]!.stringValue!)(\(model["inFlight"]!.intValue!))"), "\(line)")
            }
        }
        let llama = try #require(lines.first { $0.hasPrefix("llama3.2 ") })
        // The held stream counts when it ends.
        #expect(llama.split(separator: " ", omittingEmptySubsequences: true).map(String.init)[2] == "3")
        #expect(lines.contains { $0.hasPrefix("(unknown) ") })  // the missing model, counted with any other
        #expect(lines[1].contains("time to first token (last"))
        // Each model's demand beside its copies, as /status's models[] has them (the planner may add a
        // copy between the two reads, so the counts are checked for shape, the rest for value).
        #expect(status["models"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["llama3.2:latest"])
        let demandLine = try #require(lines.first { $0.hasPrefix("llama3.2:latest ") })
        let demandCells = demandLine.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        #expect((Double(demandCells[1]) ?? 0) > 0, "\(demandLine)")  // requests per second
        #expect((Int(demandCells[4]) ?? 0) >= 1, "\(demandLine)")  // copies, warm or loading
        #expect(demandCells[5].hasPrefix("(") && (Int(demandCells[5].dropFirst().dropLast()) ?? 0) >= 1, "\(demandLine)")  // wanted
        #expect(demandCells[6].contains("node0"), "\(demandLine)")  // warm on
        farm.nodes[0].holdStreams(false)
        while try await held.next() != nil {}
    }

    /// A model the farm has no place for every copy of shows how many found none, as `/status` counts them.
    @Test func copiesWithoutRoomAreShownBesideTheCopiesWanted() {
        let status: JSONValue = [
            "nodes": [], "healthyNodes": 0,
            "models": [
                [
                    "name": "llama3.2:latest", "requestsPerSecond": 1.28, "serviceSeconds": 1.3, "copiesWanted": 3,
                    "copiesWithoutRoom": 2, "warmOn": ["gpu0"], "loadingOn": [],
                ],
                [
                    "name": "phi3:latest", "requestsPerSecond": 0.2, "serviceSeconds": 1.3, "copiesWanted": 1, "copiesWithoutRoom": 0,
                    "warmOn": ["gpu1"], "loadingOn": [],
                ],
            ],
        ]
        let lines = StatusView(colour: false).render(status).split(separator: "\n").map(String.init)
        let hot = lines.first { $0.hasPrefix("llama3.2:latest ") }
        #expect(hot?.contains("1 (3; 2 no room)") == true, "\(lines)")
        let other = lines.first { $0.hasPrefix("phi3:latest ") }
        #expect(other?.contains("1 (1)") == true, "\(lines)")
    }

    @Test func aWrongKeyOrDeadAddressIsSaidPlainly() async throws {
        let farm = try await TestFarm.start([.init()]) { $0.adminKeys = [.init(name: "ops", key: "gw_admin")] }
        let url = "http://127.0.0.1:\(farm.port)"
        let refused = await TopCommand.frame(NodeURL(url)!, url: url, key: nil, client: farm.client, view: StatusView(colour: false))
        #expect(!refused.ok && refused.text.contains("401") && refused.text.contains("--key"))
        let admitted = await TopCommand.frame(
            NodeURL(url)!, url: url, key: "gw_admin", client: farm.client, view: StatusView(colour: false))
        #expect(admitted.ok)
        #expect(try CommandLineOptions.parse(["top", "--url", url, "--once"]).action == .top(url: url, key: nil, once: true))
        #expect(throws: CommandLineOptions.UsageError.self) { try CommandLineOptions.parse(["--once"]) }
    }
}
