import Balancer

/// The line logged when a request starts a cold load: what the operator needs to tell a load that
/// will take a while from one stuck behind others (Ollama loads one model at a time per node).
enum ColdLoadLog {
    static func line(
        model: ModelName, node: String, loadSeconds: Double, loadsAheadSeconds: Double, queued: Int, unloading: [ModelName],
        drainsBusy: Bool
    ) -> String {
        let ahead = loadsAheadSeconds >= 1 ? ", after about \(Int(loadsAheadSeconds.rounded())) s of loads ahead on the node" : ""
        let victims = unloading.isEmpty ? "" : ", unloading \(unloading.map(\.canonical).joined(separator: ", "))"
        let draining = drainsBusy ? " once their running requests end" : ""
        return "cold-loading \(model.canonical) on node \(node) for a request (load about \(Int(loadSeconds.rounded())) s\(ahead), "
            + "\(queued) queued for the model\(victims)\(draining))"
    }

    /// The line for `lease`'s cold load, whose claim predicted `predicted` seconds (its drain included).
    static func line(for lease: Lease, predicted: Double, queued: Int) -> String {
        line(
            model: lease.model, node: lease.nodeConfig.name, loadSeconds: predicted - lease.drainingAnswerSeconds,
            loadsAheadSeconds: lease.expectedStartSeconds - predicted, queued: queued, unloading: lease.evicting,
            drainsBusy: lease.drainingAnswerSeconds > 0)
    }
}
