import Foundation
import Testing

@testable import Balancer

/// A queue left by a cold start or a shift: Erlang C, reading only the rate, says the copies keep
/// up, but the requests already queued wait until what the copies serve beyond the arrivals drains them.
@Suite struct BacklogTests {
    let settings = CapacityPlanner.Settings()

    @Test func aQueueTheWarmSlotsDrainDuringALoadIsNoBacklog() {
        // As deep as the warm slots: what a busy copy has.
        let busy = CapacityPlanner.Demand(rate: 0.6, serviceSeconds: 1.3, queued: 4)
        #expect(CapacityPlanner.Backlog(demand: busy, warmServers: 4, loadSeconds: 4, settings: settings) == nil)
        // Eight beyond the slots, drained at 4/1.3 - 0.6 = 2.5/s: gone in 3.2 s, before a copy loaded now is warm.
        let drained = CapacityPlanner.Demand(rate: 0.6, serviceSeconds: 1.3, queued: 12)
        #expect(CapacityPlanner.Backlog(demand: drained, warmServers: 4, loadSeconds: 4, settings: settings) == nil)
    }

    @Test func moreSlotsDrainAQueueSoonerAndSaveItsWaiting() throws {
        // 40 queued on 4 slots at 2.5/s of 1.3 s answers: they serve 0.58/s beyond the arrivals.
        let demand = CapacityPlanner.Demand(rate: 2.5, serviceSeconds: 1.3, queued: 40)
        let backlog = try #require(CapacityPlanner.Backlog(demand: demand, warmServers: 4, loadSeconds: 8, settings: settings))
        #expect(abs(backlog.requests - (36 - (4 / 1.3 - 2.5) * 8)) < 1e-9)
        let onFour = backlog.waitingSeconds(servers: 4)
        let onSix = backlog.waitingSeconds(servers: 6)
        #expect(onFour > 2 * onSix, "\(onFour) against \(onSix)")
        // Fewer slots than the arrivals need: the queue stays for the rest of the horizon.
        #expect(backlog.waitingSeconds(servers: 2) == backlog.requests * 52)
        // Six slots drain it in about 15 s, four in about 54.
        #expect(backlog.serversToDrain(within: 20, maxServers: 8) == 6)
        #expect(backlog.serversToDrain(within: 20, maxServers: 5) == 5)
        #expect(backlog.serversToDrain(within: 20, maxServers: 3) == nil)
    }

    /// Four nodes that hold one model each: "hot" on two, a rarely asked model on two. The rate alone
    /// wants two copies of "hot"; 80 requests queued for it want a third, in place of the spare copy.
    @Test func aModelWithAQueueThatOutlastsALoadTakesASpareCopysRoom() {
        let sizes: [String: Int64] = ["hot": 2, "rare": 2]
        let nodes = [["hot"], ["hot"], ["rare"], ["rare"]].enumerated().map { index, models in
            node(index, pulled: sizes, loaded: models, vramGB: 16, maxLoaded: 1, loadRate: 1, loadedAt: [models[0]: 0])
        }
        func plan(queued: Int) -> [CapacityPlanner.Move] {
            let demand: [ModelName: CapacityPlanner.Demand] = [
                ModelName("hot")!: .init(rate: 0.6, serviceSeconds: 1.3, queued: queued),
                ModelName("rare")!: .init(rate: 0.05, serviceSeconds: 1.3),
            ]
            return CapacityPlanner.plan(nodes: nodes, demand: demand, now: 1000)
        }
        #expect(CapacityPlanner.wantedCopies(ModelName("hot")!, .init(rate: 0.6, serviceSeconds: 1.3), holders: 4, slotsPerCopy: 2) == 2)
        #expect(plan(queued: 0).isEmpty)
        #expect(plan(queued: 6).isEmpty)  // a queue the two copies drain while a third loads
        let moves = plan(queued: 80)
        #expect(moves.count == 1, "\(moves)")
        #expect(moves.first?.model == ModelName("hot")!)
        #expect(moves.first?.evicting == [ModelName("rare")!])
    }
}
