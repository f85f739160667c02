extension CapacityPlanner {
    /// What room on each node is worth to a chain of moves (`FarmLayout.worthOfRoomLeft`), worked out
    /// once per layout: every step weighed asks it, and a move changes it.
    final class RoomWorthMemo {
        struct Rooms {
            /// Per model, the nodes that hold it where the target does not keep it: where its move leaves room.
            var leaving: [ModelName: [Int]] = [:]
            /// Per node, what its room is worth, counting every chain's head...
            var forEveryHead: [Int: Double] = [:]
            /// ...or only heads that have a warm copy (those that wait for the chain).
            var forWaitingHeads: [Int: Double] = [:]
        }

        private var known: Rooms?

        func rooms(_ compute: () -> Rooms) -> Rooms {
            if let known { return known }
            let found = compute()
            known = found
            return found
        }

        func forget() { known = nil }
    }
}
