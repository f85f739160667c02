/// What the access log says about one request. The handler fills it in as it learns the model,
/// the node and the outcome; the router writes the line once the handler returns, so every
/// request is logged exactly once whichever way it ended.
struct AccessRecord: Sendable {
    let keyName: String
    let started: ContinuousClock.Instant
    var model = "-"
    var node = "-"
    /// The status the client got (499 when it went away first).
    var status = 200
    var usage = Gateway.Usage()
    var stream = false

    init(keyName: String, started: ContinuousClock.Instant = .now) {
        self.keyName = keyName
        self.started = started
    }
}
