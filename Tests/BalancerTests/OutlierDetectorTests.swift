import Testing

@testable import Balancer

@Suite struct OutlierDetectorTests {
    func detector(_ configure: (inout ClusterConfig.OutlierSettings) -> Void = { _ in }) -> OutlierDetector {
        var settings = ClusterConfig.OutlierSettings()
        settings.consecutiveFailures = 3
        settings.baseEjectionMs = 10_000
        settings.maxEjectionMs = 25_000
        configure(&settings)
        return OutlierDetector(settings: settings)
    }

    @Test func consecutiveFailuresEjectAndASuccessInBetweenResetsTheCount() {
        var outliers = detector()
        let r1 = outliers.record(.failure, node: "n0", nodeCount: 4, now: 0)
        #expect(!r1)
        let r2 = outliers.record(.failure, node: "n0", nodeCount: 4, now: 1)
        #expect(!r2)
        let r3 = outliers.record(.success, node: "n0", nodeCount: 4, now: 2)
        #expect(!r3)
        let r4 = outliers.record(.failure, node: "n0", nodeCount: 4, now: 3)
        #expect(!r4)
        let r5 = outliers.record(.failure, node: "n0", nodeCount: 4, now: 4)
        #expect(!r5)
        let r6 = outliers.record(.failure, node: "n0", nodeCount: 4, now: 5)
        #expect(r6)
        #expect(outliers.isEjected("n0", now: 14.9))
        #expect(!outliers.isEjected("n0", now: 15.1))
    }

    @Test func ejectionsGrowWithRepeatsUpToTheCap() {
        var outliers = detector()
        for second in 0..<3 { _ = outliers.record(.failure, node: "n0", nodeCount: 4, now: Double(second)) }
        #expect(outliers.ejectedUntil("n0", now: 3) == 12)  // 10 s
        for second in 20..<23 { _ = outliers.record(.failure, node: "n0", nodeCount: 4, now: Double(second)) }
        #expect(outliers.ejectedUntil("n0", now: 23) == 42)  // 20 s
        for second in 50..<53 { _ = outliers.record(.failure, node: "n0", nodeCount: 4, now: Double(second)) }
        #expect(outliers.ejectedUntil("n0", now: 53) == 77)  // 30 s capped at 25 s
    }

    @Test func atMostMaxEjectionPercentOfNodesAreEjected() {
        var outliers = detector { $0.maxEjectionPercent = 50 }
        for node in ["n0", "n1", "n2"] as [NodeID] {
            for second in 0..<3 { _ = outliers.record(.failure, node: node, nodeCount: 4, now: Double(second)) }
        }
        #expect((["n0", "n1", "n2"] as [NodeID]).filter { outliers.isEjected($0, now: 5) } == ["n0", "n1"])
    }

    @Test func busyIsACoolDownNotAFailure() {
        var outliers = detector { $0.busyCooldownMs = 1000 }
        for second in 0..<10 {
            let ejected = outliers.record(.busy, node: "n0", nodeCount: 2, now: Double(second))
            #expect(!ejected)
        }
        #expect(!outliers.isEjected("n0", now: 9.5))
        #expect(outliers.isCoolingDown("n0", now: 9.5))
        #expect(!outliers.isCoolingDown("n0", now: 10.5))
    }

    @Test func placementSeesEjectedNodesAsUnhealthyUnlessTooFewAreLeft() {
        var outliers = detector { $0.panicThresholdPercent = 50 }
        for second in 0..<3 { _ = outliers.record(.failure, node: "n0", nodeCount: 4, now: Double(second)) }
        let four = (0..<4).map { node($0) }
        #expect(outliers.apply(to: four, now: 5).map(\.health) == [.unhealthy, .healthy, .healthy, .healthy])
        // Two of four nodes down by probe, one ejected: one usable of four is under 50 % — panic, use it anyway.
        let twoDown = [node(0), node(1, health: .unhealthy), node(2, health: .unhealthy), node(3)]
        #expect(outliers.apply(to: twoDown, now: 5).map(\.health) == [.healthy, .unhealthy, .unhealthy, .healthy])
    }

    /// A node whose first probe failed is suspect, and still in service: its requests' failures eject it
    /// and a refused connection takes it out, as for a healthy node.
    @Test func aSuspectNodeIsEjectedAndTakenOutWhenRefusingLikeAHealthyOne() {
        var outliers = detector { $0.panicThresholdPercent = 0 }
        for second in 0..<3 { _ = outliers.record(.failure, node: "n0", nodeCount: 4, now: Double(second)) }
        _ = outliers.record(.refused, node: "n1", nodeCount: 4, now: 3)
        let suspects = [node(0, health: .suspect), node(1, health: .suspect), node(2, health: .suspect), node(3)]
        #expect(outliers.apply(to: suspects, now: 4).map(\.health) == [.unhealthy, .unhealthy, .suspect, .healthy])
    }
}
