import Balancer
import Foundation
@preconcurrency import Glibc
import HTTP1
import WireFormats

/// `tensorwall top`: a live view of a running TensorWall for people who work over SSH. It reads
/// `/status` once a second and redraws the screen with plain ANSI escapes (no curses).
enum TopCommand {
    /// Runs until interrupted; with `once`, prints one frame without escapes and returns its exit status.
    static func run(url: String, key: String?, once: Bool) async -> Int32 {
        guard let target = NodeURL(url) else {
            FileHandle.standardError.write(Data("tensorwall top: --url must be an http:// URL, got \(url)\n".utf8))
            return 2
        }
        let client = HTTPClient()
        defer { client.shutdown() }
        let view = StatusView(colour: !once && isatty(1) != 0)
        while true {
            let frame = await self.frame(target, url: url, key: key, client: client, view: view)
            if once {
                print(frame.text, terminator: "")
                return frame.ok ? 0 : 1
            }
            print("\u{1B}[H\u{1B}[2J" + frame.text, terminator: "")
            fflush(nil)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    static func frame(_ target: NodeURL, url: String, key: String?, client: HTTPClient, view: StatusView) async -> (text: String, ok: Bool)
    {
        var headers: HTTPHeaders = ["Accept": "application/json"]
        if let key { headers.add("Authorization", "Bearer \(key)") }
        let request = HTTPClientRequest(
            method: "GET", host: target.host, port: target.port, target: target.basePath + "/status", headers: headers)
        do {
            let response = try await client.execute(
                request, timeouts: HTTPClientTimeouts(connect: .seconds(2), responseHead: .seconds(5), idleRead: .seconds(5)))
            let body = try await response.collect()
            guard response.status == 200 else {
                let hint = response.status == 401 ? " (pass an admin key with --key)" : ""
                return ("tensorwall top: \(url)/status answered \(response.status)\(hint)\n", false)
            }
            return (view.render(try JSONParser.parse(body)), true)
        } catch {
            return ("tensorwall top: cannot read \(url)/status: \(error)\n", false)
        }
    }
}
