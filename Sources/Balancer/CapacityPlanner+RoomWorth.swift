import Foundation

extension CapacityPlanner.FarmLayout {
    /// `model` is on another node where the target does not keep it, and the target puts there a
    /// copy the farm lacks that would save at least the minimum gain, or that leaves room worth
    /// having in turn: loading `model` where the target wants it frees that room.
    func leavesRoomWorthHaving(_ model: ModelName, movingTo nodeIndex: Int) -> Bool {
        worthOfRoomLeft(model, movingTo: nodeIndex) >= settings.minimumNetGainSeconds
    }

    /// What the room `model` leaves when it loads on `nodeIndex` is worth: the gain of the copy the
    /// target puts there in its place, or of the copy that copy's own move makes room for, up to
    /// `followDepth` links (a chain's free end is worth what its head saves; its own copy is often
    /// worth little); 0 when it leaves no room the target fills. With `waitingHeadsOnly`, only heads
    /// that have a warm copy count: those wait for the chain (`waitsToMakeBeforeBreaking`), where a
    /// model with no copy takes its place at once.
    func worthOfRoomLeft(_ model: ModelName, movingTo nodeIndex: Int, waitingHeadsOnly: Bool = false) -> Double {
        guard let target else { return 0 }
        let rooms = roomWorthMemo.rooms { roomWorth(in: target) }
        let worth = waitingHeadsOnly ? rooms.forWaitingHeads : rooms.forEveryHead
        var best = 0.0
        for other in rooms.leaving[model] ?? [] where other != nodeIndex { best = max(best, worth[other] ?? 0) }
        return best
    }

    /// Per node, what room there is worth to the copies the target puts there (see
    /// `worthOfRoomLeft`): each copy's own gain, or what the room its move leaves is worth, link by
    /// link. Worked out for every node at once, a few passes over the copies the farm lacks: asked
    /// of each chain on its own, it took a 64-node farm's plan from 0.13 s to 5 s.
    private func roomWorth(in target: CapacityPlanner.TargetLayout) -> CapacityPlanner.RoomWorthMemo.Rooms {
        var rooms = CapacityPlanner.RoomWorthMemo.Rooms()
        var missing: [(node: Int, model: ModelName)] = []
        for node in healthy {
            let placed = target.models[node.index] ?? []
            for model in residents(node.index) where !placed.contains(model) { rooms.leaving[model, default: []].append(node.index) }
            for model in placed where !hosts(model, on: node.index) { missing.append((node.index, model)) }
        }
        for copy in missing {
            let gain = nextCopyGain(copy.model)
            guard gain >= settings.minimumNetGainSeconds else { continue }
            rooms.forEveryHead[copy.node] = max(rooms.forEveryHead[copy.node] ?? 0, gain)
            if (warmCopies[copy.model] ?? 0) > 0 { rooms.forWaitingHeads[copy.node] = max(rooms.forWaitingHeads[copy.node] ?? 0, gain) }
        }
        func follow(_ worth: [Int: Double]) -> [Int: Double] {
            var next = worth
            for copy in missing {
                for other in rooms.leaving[copy.model] ?? [] where other != copy.node {
                    if let further = worth[other] { next[copy.node] = max(next[copy.node] ?? 0, further) }
                }
            }
            return next
        }
        for _ in 0..<Self.followDepth {
            rooms.forEveryHead = follow(rooms.forEveryHead)
            rooms.forWaitingHeads = follow(rooms.forWaitingHeads)
        }
        return rooms
    }
}
