/// A node's identity: its configured name. Placement state that outlives one request (ejections,
/// conversations, requests already tried) is keyed by it rather than by a position in the node
/// list, so a reload that adds, removes or reorders nodes leaves what was learned about the others
/// where it was.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let name: String

    public init(_ name: String) { self.name = name }
    public init(stringLiteral name: String) { self.name = name }

    public var description: String { name }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.name < rhs.name }
}

extension ClusterConfig.NodeConfig {
    public var id: NodeID { NodeID(name) }
}
