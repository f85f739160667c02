import Foundation

/// Sizes every model's warm copies to its demand and fits them into the farm. Placement alone
/// only loads a model when a request cannot wait, so a hot model held by two nodes queues there
/// while rarely asked models sit idle in the VRAM of the others. The planner keeps, per model,
/// the measured arrival rate and service time, turns them into offered load, and asks Erlang C
/// how many servers (copies × parallel slots) keep the wait for a slot under a target. Then it
/// moves the farm toward that plan one load per node at a time, evicting the idle copies whose
/// loss costs the least waiting, and only when the move saves clearly more than it costs. When the
/// only way in unloads the last copy of a model still asked for, it may move that model elsewhere
/// first (`FarmLayout.relocation`): a farm packed with one copy of everything has no other way to
/// make room for a model that turned hot.
///
/// Values are seconds of waiting over a planning horizon, so a hot model's extra copy (many
/// requests each waiting less) is weighed against a rare model's last copy (its next request
/// waiting a whole cold load). Pure: the caller supplies the snapshots, the demand and the time.
public enum CapacityPlanner {
    public struct Settings: Sendable, Equatable {
        /// Plan for a request waiting longer than this for a slot at most `tailProbability` of the time...
        public var waitTargetSeconds = 1.0
        /// ...or longer than this share of the model's service time, if less. A wait is noticed next to
        /// the time to first token, which grows with the service time: 1 s is a fifth of a slow node's
        /// answer, but doubles the first token of a fast node whose whole answer takes 1.3 s.
        public var waitTargetShareOfService = 0.1
        public var tailProbability = 0.05
        /// Arrivals at a farm come in bursts (conversations, batch clients): plan for this much more load.
        public var burstFactor = 1.2
        /// A planned load may unload a busy copy: the copy takes no new request and the load starts
        /// when its requests end. Waiting for idle copies, a move after a popularity shift waited
        /// 60 s for three busy models on one node to be idle at the same moment.
        public var drainsBusyCopies = true
        /// A copy resident less than this long is evicted by the planner only for a move that saves
        /// `youngCopyGainOverCost` times what it costs, and never when it is its model's only copy.
        public var minimumResidencySeconds = 60.0
        /// Seconds ahead over which waiting saved and waiting caused are weighed.
        public var horizonSeconds = 60.0
        /// A move must save at least this many seconds of waiting over the horizon, net of what it costs.
        public var minimumNetGainSeconds = 5.0
        /// ...and at least this many times what its evictions cost (hysteresis against swapping back and
        /// forth); also how many times its worth a held copy counts for in the target (`TargetLayout`).
        public var gainOverCost = 2.0
        /// ...or this many times, for a step toward the target layout (`TargetLayout`): the target packs
        /// the same way every round, so noise does not swap such a move back.
        public var targetStepGainOverCost = 1.0
        /// ...or this many times, when it unloads the only copy of a model that is still asked for...
        public var lastCopyGainOverCost = 5.0
        /// ...or this many times, when it takes a last copy for a model that has no copy at all and requests
        /// queued: those wait for a load anyway, and the swap goes to whichever model waits more. At 125 %
        /// load llama3.1 had no copy and 30 queued for 23 s while the only way in, mistral's only copy,
        /// needed five times its cost, and every node was too busy for the request path to load it.
        public var uncoveredGainOverCost = 1.0
        /// ...or a copy younger than the minimum residency (never a model's only copy): a load made
        /// a moment ago is undone only for a clearly better use of its place.
        public var youngCopyGainOverCost = 5.0
        /// A queue a new copy would still find (`Backlog`) wants the copies that drain it within this long.
        public var backlogDrainSeconds = 20.0
        /// Demand below this (requests/s) gets no planned copy: placement loads the model when asked.
        public var minimumRate = 0.01
        /// A wait for a slot longer than this shows in the tail of time to first token.
        public var noticeableWaitSeconds = 0.25
        /// A model whose copies cannot keep up (offered load ≥ servers) is counted as waiting this long.
        public var saturatedWaitSeconds = 60.0
        /// A farm whose offered load is at least this share of its copies' slots has its slots nearly
        /// all in use: a move there only shifts the waiting from one model to another, and a move off
        /// the target does not take a model's last copy for another's extra one (`FarmLayout.slotsMostlyBusy`).
        public var busyFarmShareOfSlots = 0.8
        /// A spare copy the target leaves out though it saves this many times what the least valuable
        /// held spare copy it keeps saves, summed over rounds...
        public var challengerMargin = 1.2
        /// ...of at least this long, counts as held in the target (`TargetChallengers`): long enough
        /// for the rates' noise, which swaps such copies round by round, to even out.
        public var challengerDwellSeconds = 30.0
        /// How many times its worth a copy the farm lacks counts for in the target when the last
        /// round's target kept it: below `gainOverCost`, so a held copy still outranks it, but enough
        /// that two near-equal layouts do not take turns as the target round after round while the
        /// rates settle after a shift (`TargetLayout`).
        public var targetKeptAdvantage = 1.5

        public init() {}
    }

    /// What the planner knows of one model's demand across the farm.
    public struct Demand: Sendable, Equatable {
        /// Requests per second (a decayed average).
        public var rate: Double
        /// Seconds a request holds its slot (prompt evaluation and generation).
        public var serviceSeconds: Double
        /// Requests waiting in TensorWall's queue for the model right now.
        public var queued: Int
        /// The rate with what chance could explain of a fresh rise taken off
        /// (`ArrivalHistory.cautiousRate`); nil when it is `rate`. A move that takes a copy another
        /// model needs is weighed on it, so a burst read as a new level does not unload a hot model.
        public var cautiousRate: Double?

        public init(rate: Double, serviceSeconds: Double, queued: Int = 0, cautiousRate: Double? = nil) {
            self.rate = rate
            self.serviceSeconds = serviceSeconds
            self.queued = queued
            self.cautiousRate = cautiousRate
        }

        public var offeredLoad: Double { rate * serviceSeconds }
    }

    /// Load `model` on a node, after unloading `evicting` there.
    public struct Move: Sendable, Equatable {
        public var model: ModelName
        public var nodeIndex: Int
        public var evicting: [ModelName]
        public var predictedLoadSeconds: Double
        /// Victims loaded back on the node right after `model`, in this order: the move was priced on
        /// their being away only for the loads (`FarmLayout.waitWhileAway`), so the load that brings
        /// them back is claimed with the move rather than left to a later round or to a request.
        public var comingBack: [ModelName] = []

        public init(model: ModelName, nodeIndex: Int, evicting: [ModelName], predictedLoadSeconds: Double, comingBack: [ModelName] = []) {
            self.model = model
            self.nodeIndex = nodeIndex
            self.evicting = evicting
            self.predictedLoadSeconds = predictedLoadSeconds
            self.comingBack = comingBack
        }
    }

    /// Warm copies each model should have, before fitting: enough servers for the wait target,
    /// at most one per healthy node that has the model pulled.
    public static func wantedCopies(
        _ model: ModelName, _ demand: Demand, holders: Int, slotsPerCopy: Int, settings: Settings = Settings()
    ) -> Int {
        guard demand.rate >= settings.minimumRate || demand.queued > 0, holders > 0 else { return 0 }
        let servers = ErlangC.serversNeeded(
            offered: demand.offeredLoad * settings.burstFactor, service: demand.serviceSeconds,
            waitAtMost: min(settings.waitTargetSeconds, settings.waitTargetShareOfService * demand.serviceSeconds),
            probability: settings.tailProbability)
        let copies = (max(1, servers) + slotsPerCopy - 1) / max(1, slotsPerCopy)
        return min(holders, max(1, copies))
    }

    /// Expected seconds one request for the model waits for a slot with `copies` (≥ 1) warm copies:
    /// Erlang C's mean wait while the copies keep up; once they cannot (offered load ≥ servers) the
    /// backlog grows through the horizon, and a request waits on average for half of what piles up.
    /// Both parts keep falling as servers are added, so an overloaded model still sees what one more
    /// copy buys. The queue waiting right now is left out: a queue of a request or two is what Erlang C
    /// predicts for a busy copy and is gone before a new copy could load, and the requests in a queue
    /// that lasts are already in the arrival rate.
    static func waitPerRequest(copies: Int, slotsPerCopy: Int, demand: Demand, settings: Settings) -> Double {
        let servers = Double(max(1, copies) * max(1, slotsPerCopy))
        let offered = demand.offeredLoad
        guard offered < servers else {
            return settings.saturatedWaitSeconds + (offered - servers) * settings.horizonSeconds / (2 * servers)
        }
        let erlang = ErlangC.meanWait(servers: Int(servers), offered: offered, service: demand.serviceSeconds)
        // The tail is what users see (p95 time to first token): a request that waits noticeably
        // counts as if it had waited a whole service time, on top of the mean.
        let noticeable = ErlangC.probabilityOfWaitingLonger(
            than: settings.noticeableWaitSeconds, servers: Int(servers), offered: offered, service: demand.serviceSeconds)
        return min(settings.saturatedWaitSeconds, erlang + noticeable * demand.serviceSeconds)
    }

    /// Seconds of waiting the model's requests add over the horizon when one of its `copies` (≥ 2)
    /// goes: what unloading or draining one of several copies costs (`CostModel.evictionCost`,
    /// `Cluster.mayDrain`).
    static func waitingAdded(byLosingOneOf copies: Int, slotsPerCopy: Int, demand: Demand, settings: Settings) -> Double {
        let fewerSlots =
            waitPerRequest(copies: copies - 1, slotsPerCopy: slotsPerCopy, demand: demand, settings: settings)
            - waitPerRequest(copies: copies, slotsPerCopy: slotsPerCopy, demand: demand, settings: settings)
        return demand.rate * settings.horizonSeconds * fewerSlots
    }

    /// Seconds of waiting over the horizon with `copies` copies, for every request expected in it.
    /// With no copy at all, each of them also pays for a cold load somewhere (and the load pushes
    /// some other model out: demand that is real comes back).
    static func waitingCost(copies: Int, slotsPerCopy: Int, demand: Demand, loadSeconds: Double, settings: Settings) -> Double {
        let requests = demand.rate * settings.horizonSeconds
        let perRequest = waitPerRequest(copies: max(1, copies), slotsPerCopy: slotsPerCopy, demand: demand, settings: settings)
        let withoutCopy = copies == 0 ? loadSeconds * max(requests, 1 - exp(-demand.rate * settings.horizonSeconds)) : 0
        return perRequest * requests + withoutCopy
    }

    /// A layout by node identity, by the nodes' indices in `nodes`.
    static func byIndex(_ layout: [NodeID: Set<ModelName>], _ nodes: [NodeSnapshot]) -> [Int: Set<ModelName>] {
        guard !layout.isEmpty else { return [:] }
        return Dictionary(uniqueKeysWithValues: nodes.compactMap { node in layout[node.id].map { (node.index, $0) } })
    }

    /// How many models that want a copy but get no cheap direct move are weighed for relocations each round.
    static let relocationsWeighedPerRound = 4

    public static func plan(
        nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel = CostModel(), settings: Settings = Settings()
    ) -> [Move] {
        planWithTarget(nodes: nodes, demand: demand, now: now, costModel: costModel, settings: settings).moves
    }

    /// The round's moves, the target layout (`TargetLayout`, by node index) they were weighed
    /// against, why the target's other copies were not loaded (`stepsHeldBack`), and what each move
    /// made was weighed on (`whyMade`): what `--log-level debug` prints, from the same packing
    /// rather than a second one. `explaining` asks for the last two; working them out weighs each
    /// move again, so it is off by default.
    /// `previousTarget` is the last round's target (see `TargetLayout`), by node, and `challengers` its
    /// copies left out for the advantage of held ones (`TargetChallengers`); the round returns its
    /// own for the next. `paces` is the fit
    /// of the nodes' paces the demand was summed with (`Cluster.demandSummary`), else fitted here.
    /// `leftOutForRoom` counts, per model, the copies worth loading that the farm has no place for.
    public static func planWithTarget(
        nodes: [NodeSnapshot], demand: [ModelName: Demand], now: Double, costModel: CostModel = CostModel(),
        settings: Settings = Settings(),
        previousTarget: [NodeID: Set<ModelName>] = [:], challengers: TargetChallengers = TargetChallengers(), paces: NodePaces? = nil,
        explaining: Bool = false
    ) -> (
        moves: [Move], target: [Int: Set<ModelName>], challengers: TargetChallengers, heldBack: [String], made: [String],
        leftOutForRoom: [ModelName: Int]
    ) {
        var layout = FarmLayout(nodes: nodes, demand: demand, now: now, costModel: costModel, settings: settings, paces: paces)
        let target = TargetLayout(layout, previous: byIndex(previousTarget, nodes), challengers: challengers)
        layout.target = target
        var round = makeMoves(&layout, explaining: explaining)
        // A round with nothing loading and nothing to do would wait for a chain's free end that the plan
        // does not take: then the chain breaks first, as it did before steps waited.
        if round.moves.isEmpty && layout.taken.isEmpty && layout.heldBackToMakeBeforeBreaking() {
            layout.breaksBeforeMaking = true
            round = makeMoves(&layout, explaining: explaining)
        }
        return (
            round.moves, target.models, target.challengers, explaining ? layout.stepsHeldBack() : [], round.made, target.leftOutForRoom
        )
    }

    /// The round's moves, best first, each weighed against the layout the ones before it leave (and
    /// applied to `layout`); with what each was weighed on when `explaining`.
    private static func makeMoves(_ layout: inout FarmLayout, explaining: Bool) -> (moves: [Move], made: [String]) {
        let demand = layout.demand
        let settings = layout.settings
        var moves: [Move] = []
        var made: [String] = []
        var queueCopyPlanned: Set<ModelName> = []
        while true {
            var best: (move: Move, score: Double, forModel: ModelName, reserving: Int?)?
            func consider(_ move: Move, score: Double, forModel model: ModelName, reserving: Int? = nil) {
                if best == nil || score > best!.score { best = (move, score, model, reserving) }
            }
            // Models that want a copy no cheap direct move gives them, with what a copy would save.
            var stuck: [(model: ModelName, gain: Double)] = []
            let awaitedGains = layout.awaitedTargetCopyGains()
            let beingLeft = layout.nodesBeingLeft()
            for model in demand.keys.sorted() {
                let wanted = demand[model]!
                let holders = layout.holderIndices(model)
                let slotsPerCopy = layout.slots(model)
                let target = layout.wantedCopies(model)
                let current = layout.copies[model] ?? 0
                // A queue at least as deep as the model's slots (every slot busy, and as many waiting)
                // may take one copy in free room, which evicts nothing; only the averages may evict for a
                // copy. A queue of a request or two comes and goes with chance: evicting on it swapped
                // copies back and forth between models, and filling room on it took nodes' load turns.
                let warmSlots = current * slotsPerCopy
                let queueWantsFreeRoom =
                    wanted.queued > 0 && wanted.queued >= warmSlots && current < holders.count && !queueCopyPlanned.contains(model)
                let gain = layout.nextCopyGain(model)
                let averagesWantCopy = layout.effectiveCopies(model) < Double(target) && gain > settings.minimumNetGainSeconds
                guard averagesWantCopy || queueWantsFreeRoom || gain > 0 else { continue }
                // Where the target puts a copy the farm lacks, a step toward it needs only to gain more
                // than it costs, however little (`isStepTowardTarget`).
                let targetNodes = Set(
                    (layout.target?.nodesPlacing[model] ?? []).filter { !layout.hosts(model, on: $0) && holders.contains($0) })
                guard averagesWantCopy || queueWantsFreeRoom || !targetNodes.isEmpty else { continue }
                var cheapDirect = false
                // While room is being made for the copy (`isMakingRoom`), a load only fills free room: on the
                // node the room is made on, and, off the target, while it is made on the target's node.
                var roomOnItsWay: Bool?
                for index in holders where layout.takesPlannedLoad(nodeAt: index) && !layout.hosts(model, on: index) {
                    let towardTarget = targetNodes.contains(index)
                    guard averagesWantCopy || queueWantsFreeRoom || towardTarget else { continue }
                    // Off the target, a load fills room where the target still waits for a copy worth more.
                    guard towardTarget || !((awaitedGains[index] ?? -.infinity) > gain) else { continue }
                    var mayEvict = averagesWantCopy || towardTarget
                    if mayEvict && beingLeft.contains(index) && layout.isMakingRoom(for: model, on: index) {
                        mayEvict = false
                    } else if mayEvict && !towardTarget {
                        let onItsWay =
                            roomOnItsWay ?? targetNodes.contains { beingLeft.contains($0) && layout.isMakingRoom(for: model, on: $0) }
                        roomOnItsWay = onItsWay
                        mayEvict = !onItsWay
                    }
                    if let move = layout.directMove(model, gain: gain, on: layout.node(index), mayEvict: mayEvict) {
                        consider(move.move, score: move.score, forModel: model)
                        if gain - move.score < settings.minimumNetGainSeconds { cheapDirect = true }
                    }
                }
                // A direct move that takes a copy still needed is weighed against moving a model away first.
                if averagesWantCopy && !cheapDirect { stuck.append((model, layout.cautiousNextCopyGain(model))) }
            }
            // Relocations only for the models no direct move serves cheaply, the few with most to gain:
            // each weighs every other node for every model it could move, too much to do for all on a
            // large farm. A direct move that takes a copy still needed competes with them by score: after
            // a shift, codellama's third copy took gemma2:9b's second where moving qwen2.5's only copy
            // aside cost one load, and gemma2:9b queued on one copy for a minute.
            for entry in stuck.sorted(by: { $0.gain > $1.gain }).prefix(Self.relocationsWeighedPerRound) {
                for node in layout.holders(entry.model) where layout.takesPlannedLoad(node) && !layout.hosts(entry.model, on: node.index) {
                    if let chain = layout.relocation(makingRoomFor: entry.model, gain: entry.gain, on: node) {
                        consider(chain.move, score: chain.score, forModel: entry.model, reserving: node.index)
                    }
                }
            }
            guard let chosen = best else { return (moves, made) }
            if explaining {
                let room = chosen.reserving.map { (model: chosen.forModel, nodeIndex: $0, score: chosen.score) }
                made.append(layout.whyMade(chosen.move, makingRoom: room))
            }
            moves.append(chosen.move)
            queueCopyPlanned.insert(chosen.forModel)  // a queue is answered by one new copy a round
            layout.apply(chosen.move)
            // A relocation frees its victim's node for the copy it makes room for: nothing else loads there this round.
            if let reserved = chosen.reserving { layout.taken.insert(reserved) }
        }
    }
}
