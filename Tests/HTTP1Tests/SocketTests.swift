import Foundation
import Testing

@testable import HTTP1

@Suite struct SocketTests {
    /// A descriptor epoll refuses (a regular file: EPERM) fails the wait with the kernel's reason
    /// instead of crashing or waiting forever; the same path serves a full `max_user_watches`.
    @Test func aWaitTheKernelCannotWatchFailsWithItsReason() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tensorwall-socket-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        try #require(fd >= 0)
        let socket = Socket(adopting: fd)
        defer { socket.close() }
        await #expect(throws: SocketError.system(call: "epoll_ctl", errno: EPERM)) {
            try await socket.wait(for: .read, until: .now + .seconds(5))
        }
    }
}
