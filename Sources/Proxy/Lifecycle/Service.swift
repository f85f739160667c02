/// Background work that runs for the life of the process: probing, sampling history, running
/// preloads, handling signals. `run` returns when its task is cancelled; the `ServiceGroup` owns
/// that task, so nothing outlives the group and shutdown awaits every service.
protocol Service: Sendable {
    func run() async
}

/// Runs services as the child tasks of one task group: when the group's task is cancelled every
/// service is, and `run` returns only once all of them have.
struct ServiceGroup: Sendable {
    let services: [any Service]

    func run() async {
        await withDiscardingTaskGroup { group in
            for service in services { group.addTask { await service.run() } }
        }
    }
}
