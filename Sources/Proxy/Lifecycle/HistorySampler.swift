import Balancer
import Health
import WireFormats

/// Samples the farm into `FarmHistory` every `FarmHistory.interval` seconds, for the status page's charts.
struct HistorySampler: Service {
    let cluster: Cluster
    let history: FarmHistory

    func run() async {
        var last = ContinuousClock.now
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(FarmHistory.interval)) } catch { return }
            let now = ContinuousClock.now
            history.sample(
                at: WallClock.now(), snapshots: await cluster.snapshots(), queued: cluster.queuedRequests(),
                elapsed: Gateway.seconds(last.duration(to: now)))
            last = now
        }
    }
}

extension HealthMonitor: Service {}
