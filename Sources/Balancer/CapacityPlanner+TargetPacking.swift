import Foundation

/// How the target layout's copies are fitted into the nodes: ranked, cut to the farm's places,
/// packed largest first, and repaired where a copy found no room.
extension CapacityPlanner.TargetLayout {
    /// The copies ranked, cut to the farm's places and packed (see `init`).
    static func packTarget(_ unranked: [Copy], slots: Int, into plannable: [NodeSnapshot], holding: Holding) -> Packing {
        var copies = unranked
        // Every model asked for keeps a copy before any model gets another; then the most valuable
        // first. What the farm has no room for is dropped from the end. A saturated model's next copy
        // is worth more than any first copy by the waiting it saves, but a model left with none waits
        // for loads that find no idle room on a busy farm: at 125 % load the target dropped mistral
        // for codellama's fourth copy, and mistral's requests queued behind busy nodes until the 30 s
        // limit answered them 503. A saturated model's excess is refused at once instead.
        copies.sort {
            if $0.isFirstOfWantedModel != $1.isFirstOfWantedModel { return $0.isFirstOfWantedModel }
            return $0.value != $1.value ? $0.value > $1.value : $0.model < $1.model
        }
        if copies.count > slots { copies.removeLast(copies.count - slots) }
        var best = Self.packBest(copies, into: plannable, holding: holding)
        // A copy left out for want of room may fit once a less valuable one makes way; a first copy
        // left out, once any other copy does.
        for _ in 0..<Self.repacksAtMost {
            guard let last = copies.last,
                best.unplacedFirstCopies > 0 && !last.isFirstOfWantedModel || best.unplacedValue > last.value
            else { break }
            copies.removeLast()
            let attempt = Self.packBest(copies, into: plannable, holding: holding)
            if attempt.isBetter(than: best) { best = attempt }
        }
        return best
    }

    /// One packing of the copies: where each went, and what found no room.
    struct Packing {
        var models: [Int: Set<ModelName>] = [:]
        var placedValue = 0.0
        /// The copies that found no room.
        var unplaced: [Copy] = []

        /// The value of the most valuable copy that found no room (0 when all did).
        var unplacedValue: Double { unplaced.reduce(0) { max($0, $1.value) } }
        /// Models asked for that found no room for any copy.
        var unplacedFirstCopies: Int { unplaced.count { $0.isFirstOfWantedModel } }
        /// The model of the most valuable copy that found no room.
        var mostValuableUnplaced: ModelName? {
            guard let top = unplaced.max(by: { $0.value < $1.value }), top.value > 0 else { return nil }
            return top.model
        }

        func isBetter(than other: Packing) -> Bool {
            unplacedFirstCopies != other.unplacedFirstCopies
                ? unplacedFirstCopies < other.unplacedFirstCopies : placedValue > other.placedValue
        }
    }

    /// What the packing knows of each node beyond its room (by node index).
    struct Holding {
        /// The node's models in the order a copy of one prefers the node: held now, then kept by the last target.
        var preferred: (Int) -> [Set<ModelName>]
        /// What the node holds now.
        var residents: (Int) -> Set<ModelName>
        /// How many copies of a model the farm holds now.
        var held: (ModelName) -> Int
        var pace: (Int) -> Double
    }

    /// `pack`, and when a copy finds no room, `pack` again with its model's copies placed first; the
    /// better of the two. Largest first, a model held on two nodes kept the one where the hot
    /// model's last copy could go (every other node held that model already), and the target left
    /// another node's place empty.
    static func packBest(_ copies: [Copy], into nodes: [NodeSnapshot], holding: Holding) -> Packing {
        var plain = pack(copies, into: nodes, holding: holding)
        placeByMovingAResident(&plain, into: nodes, holding: holding)
        guard let stuck = plain.mostValuableUnplaced else { return plain }
        var again = pack(copies, into: nodes, holding: holding, first: stuck)
        placeByMovingAResident(&again, into: nodes, holding: holding)
        return again.isBetter(than: plain) ? again : plain
    }

    /// Places spare copies that found no room on a full node whose place one of its models gives up
    /// for a node that holds that model now and has room for it. Packing goes largest first and keeps
    /// each copy where it is: on a 75 % trace (seed 11) `gemma2:2b`, held on gpu0 and gpu3, kept
    /// its place on gpu0, the one node without the hot model, and the hot model's fourth copy found
    /// none, though gpu3, where `gemma2:2b` also sat, had room for it; packing the hot model first
    /// left `phi3:mini`'s second copy without room instead.
    /// A model the node does not hold now moves to any node with room: it is one load wherever it
    /// goes. Packed largest first on an empty farm, four nodes of three models left one node with
    /// two and the hot model's third copy without a place, though it fitted where `llama3.1:8b`
    /// was placed and `llama3.1:8b` fitted on the node with the free place.
    static func placeByMovingAResident(_ packing: inout Packing, into nodes: [NodeSnapshot], holding: Holding) {
        guard !packing.unplaced.isEmpty else { return }
        var used: [Int: Int64] = [:]
        for node in nodes {
            used[node.index] = (packing.models[node.index] ?? []).reduce(0) { $0 + node.runnerBytes($1) }
        }
        var stillUnplaced: [Copy] = []
        // Only spare copies: a first copy left out has the repacking without less valuable copies
        // (`init`), and moving models for it set off relocations after a popularity shift.
        for copy in packing.unplaced.sorted(by: { $0.value > $1.value }) {
            guard copy.count >= 2 else {
                stillUnplaced.append(copy)
                continue
            }
            var placed = false
            search: for node in nodes where node.hasPulled(copy.model) && node.plannableVRAM != nil {
                let here = packing.models[node.index] ?? []
                guard !here.contains(copy.model) else { continue }
                for model in here.sorted() {
                    let freed = (used[node.index] ?? 0) - node.runnerBytes(model)
                    guard node.plannableVRAM?.admits(node.runnerBytes(copy.model), beside: freed) ?? false else { continue }
                    // The home holds the model now, or the model is a load here anyway: a load there instead costs the same.
                    let loadedHere = holding.residents(node.index).contains(model)
                    let home = nodes.first { other in
                        let there = packing.models[other.index] ?? []
                        return other.index != node.index && (holding.residents(other.index).contains(model) || !loadedHere)
                            && !there.contains(model) && other.hasPulled(model)
                            && there.count < other.maxLoadedModels
                            && (other.plannableVRAM?.admits(other.runnerBytes(model), beside: used[other.index] ?? 0) ?? false)
                    }
                    guard let home else { continue }
                    packing.models[node.index]?.remove(model)
                    packing.models[node.index]?.insert(copy.model)
                    packing.models[home.index, default: []].insert(model)
                    used[node.index] = freed + node.runnerBytes(copy.model)
                    used[home.index, default: 0] += home.runnerBytes(model)
                    packing.placedValue += copy.value
                    placed = true
                    break search
                }
            }
            if !placed { stillUnplaced.append(copy) }
        }
        packing.unplaced = stillUnplaced
    }

    /// Largest first, each on a node that holds the model now if one has room, else on one the
    /// last target put it on, else on the one where it pushes out the fewest bytes of what the node
    /// holds and the target keeps, and of those the one it fills most. `preferred` gives a node's
    /// models in that order of preference; of two nodes it prefers alike, the one at the quicker
    /// `pace` keeps the copy (a model that got a copy on a typical node beside its copy on a slow
    /// one keeps the typical one, not whichever comes first in the file), and of two it would fill
    /// alike, the quicker one takes it.
    /// What a new copy pushes out must go elsewhere, where it may push out another model: placed
    /// on the fullest of three nodes alike, `gemma2:9b`'s second copy took `mistral:7b`'s place,
    /// which took `phi3:mini`'s, which took `gemma2:2b`'s, four loads one after another over 47 s
    /// with `gemma2:9b` on one copy, where a third node held a spare copy of `llama3.1:8b`.
    /// `first`'s copies, if given, go before all others.
    static func pack(_ copies: [Copy], into nodes: [NodeSnapshot], holding: Holding, first: ModelName? = nil) -> Packing {
        let preferred = holding.preferred
        let pace = holding.pace
        // What each node holds that the target keeps every copy of, largest first: a copy that pushes
        // one out sends it to another node, where it may push out another. A model the target keeps
        // fewer copies of than the farm holds may lose any of them.
        let kept = Dictionary(copies.map { ($0.model, 1) }, uniquingKeysWith: +)
        var needed: [Int: [ModelName]] = [:]
        func neededModels(_ node: NodeSnapshot) -> [ModelName] {
            if let known = needed[node.index] { return known }
            let models = holding.residents(node.index).filter { (kept[$0] ?? 0) >= holding.held($0) }.sorted { a, b in
                node.runnerBytes(a) != node.runnerBytes(b) ? node.runnerBytes(a) > node.runnerBytes(b) : a < b
            }
            needed[node.index] = models
            return models
        }
        var packing = Packing()
        var used: [Int: Int64] = [:]
        let order = copies.sorted {
            if ($0.model == first) != ($1.model == first) { return $0.model == first }
            return $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.value > $1.value
        }
        for copy in order {
            let fitting = nodes.filter { node in
                let here = packing.models[node.index] ?? []
                guard !here.contains(copy.model), node.hasPulled(copy.model), here.count < node.maxLoadedModels,
                    let budget = node.plannableVRAM
                else { return false }
                return budget.admits(node.runnerBytes(copy.model), beside: used[node.index] ?? 0)
            }
            func roomLeft(_ node: NodeSnapshot) -> Int64 {
                (node.plannableVRAMBytes ?? 0) - (used[node.index] ?? 0) - node.runnerBytes(copy.model)
            }
            /// The bytes of what the node holds and the target keeps every copy of that find no room beside the copy.
            func pushedOut(by copy: Copy, from node: NodeSnapshot) -> Int64 {
                let here = packing.models[node.index] ?? []
                var count = here.count + 1
                var bytes = (used[node.index] ?? 0) + node.runnerBytes(copy.model)
                var left: Int64 = 0
                for model in neededModels(node) where !here.contains(model) && model != copy.model {
                    let size = node.runnerBytes(model)
                    if count < node.maxLoadedModels, node.plannableVRAM?.admits(size, beside: bytes) ?? false {
                        count += 1
                        bytes += size
                    } else {
                        left += size
                    }
                }
                return left
            }
            // A node slower than the typical one is not kept for what it holds: a model alone there
            // (`codellama:13b`, cold-loaded on it before it slowed) was kept there by the target
            // while its requests waited 13 s, and no move off it was a step.
            let preference = fitting.map { node in
                pace(node.index) > 1 ? Int.max : preferred(node.index).firstIndex { $0.contains(copy.model) } ?? Int.max
            }
            let chosen =
                zip(fitting, preference).filter { $0.1 != Int.max }.min {
                    $0.1 != $1.1 ? $0.1 < $1.1 : pace($0.0.index) < pace($1.0.index)
                }?.0
                ?? zip(fitting, fitting.map { pushedOut(by: copy, from: $0) }).min {
                    if $0.1 != $1.1 { return $0.1 < $1.1 }
                    if roomLeft($0.0) != roomLeft($1.0) { return roomLeft($0.0) < roomLeft($1.0) }
                    return pace($0.0.index) != pace($1.0.index) ? pace($0.0.index) < pace($1.0.index) : $0.0.index < $1.0.index
                }?.0
            guard let node = chosen else {
                packing.unplaced.append(copy)
                continue
            }
            packing.models[node.index, default: []].insert(copy.model)
            packing.placedValue += copy.value
            used[node.index, default: 0] += node.runnerBytes(copy.model)
        }
        return packing
    }
}
