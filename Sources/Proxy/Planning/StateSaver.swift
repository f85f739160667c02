import Balancer
import Synchronization

/// Saves demand to the state file after a probe round once `interval` has passed since the last save.
final class StateSaver: Sendable {
    let file: DemandStateFile
    let cluster: Cluster
    let logger: Logger
    static let interval = 30.0
    private let lastSave = Mutex<Double>(-.infinity)

    init(file: DemandStateFile, cluster: Cluster, logger: Logger) {
        self.file = file
        self.cluster = cluster
        self.logger = logger
    }

    func saveIfDue() async {
        let now = cluster.now
        let due = lastSave.withLock { last -> Bool in
            guard now - last >= Self.interval else { return false }
            last = now
            return true
        }
        guard due else { return }
        if !file.save(await cluster.demandState(), contextLengths: cluster.usualContextLengths()) {
            logger.warning("cannot write the state file \(file.path)")
        }
    }
}
