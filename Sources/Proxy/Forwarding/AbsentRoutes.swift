import Balancer
import Synchronization

/// The API paths each node was found to have no route for (gin's `404 page not found`: an Ollama
/// older than `/v1/messages` or `/v1/responses`), remembered for a while so that the next requests
/// on that path go straight to nodes that have it. In a rolling upgrade, a node that answers an API
/// before its upgrade took every request for that API on its warm models first, and with
/// `maxRetries` 0 failed them; once upgraded it is tried again after `rememberedSeconds`.
final class AbsentRoutes: Sendable {
    static let rememberedSeconds = 300.0

    private struct Key: Hashable {
        var node: NodeID
        var path: String
    }

    /// When each node's absence of a path stops being believed, in monotonic seconds.
    private let until = Mutex<[Key: Double]>([:])

    /// Notes the absence; absences past their time are dropped here, not on the request path.
    func remember(_ node: NodeID, lacks path: String, now: Double) {
        until.withLock { entries in
            entries = entries.filter { $0.value > now }
            entries[Key(node: node, path: path)] = now + Self.rememberedSeconds
        }
    }

    /// The nodes believed to have no route for `path` now (read on every farm request: no copy).
    func nodes(lacking path: String, now: Double) -> Set<NodeID> {
        until.withLock { entries in
            Set(entries.lazy.filter { $0.key.path == path && $0.value > now }.map(\.key.node))
        }
    }
}
