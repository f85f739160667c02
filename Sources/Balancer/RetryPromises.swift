/// Places the queue keeps for refused requests until they come back at the time their
/// `Retry-After` told. Under sustained overload a model's queue stays at the refusal point: the
/// places that free up go to whoever arrives first, so a client that waited as told met the same
/// queue and was refused again (a quarter to a third of such retries at 200 % load on the placement
/// benchmark). Counting the places promised, the queue refuses new arrivals in their stead, and a
/// retry that comes back finds room.
///
/// A retry is known by the conversation it sends, this turn included (`Cluster.Request.retryKey`):
/// the same messages to the same model. A promise lasts until a grace after its time, so a client
/// that never comes back holds its place only that long.
struct RetryPromises {
    private struct Promise {
        let model: ModelName
        let expiresAt: Double
    }

    private var byKey: [UInt64: Promise] = [:]
    /// At most this many promises are kept; past it the one expiring soonest goes.
    let capacity: Int

    /// How long after its `Retry-After` a promise still holds a place.
    static let graceSeconds = 3.0

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// A request refused at `now` was told to come back after `retryAfterSeconds`.
    mutating func promise(_ key: UInt64, model: ModelName, now: Double, retryAfterSeconds: Double) {
        pruneExpired(now: now)
        if byKey[key] == nil, byKey.count >= capacity, let soonest = byKey.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
            byKey.removeValue(forKey: soonest.key)
        }
        byKey[key] = Promise(model: model, expiresAt: now + retryAfterSeconds + Self.graceSeconds)
    }

    /// Whether the request is a retry that holds a place; the place is given up either way.
    mutating func redeem(_ key: UInt64, model: ModelName, now: Double) -> Bool {
        guard let promise = byKey.removeValue(forKey: key) else { return false }
        return promise.model == model && promise.expiresAt >= now
    }

    /// Gives up the place kept for a request that was served elsewhere (a cloud tier of its route).
    mutating func withdraw(_ key: UInt64, model: ModelName) {
        if byKey[key]?.model == model { byKey.removeValue(forKey: key) }
    }

    /// Places promised for `model` whose clients may still come back.
    mutating func outstanding(_ model: ModelName, now: Double) -> Int {
        pruneExpired(now: now)
        return byKey.values.reduce(0) { $0 + ($1.model == model ? 1 : 0) }
    }

    /// Places promised per model whose clients may still come back (models with none left out).
    mutating func outstandingByModel(now: Double) -> [ModelName: Int] {
        pruneExpired(now: now)
        return byKey.values.reduce(into: [:]) { $0[$1.model, default: 0] += 1 }
    }

    var isEmpty: Bool { byKey.isEmpty }

    private mutating func pruneExpired(now: Double) {
        guard byKey.values.contains(where: { $0.expiresAt < now }) else { return }
        byKey = byKey.filter { $0.value.expiresAt >= now }
    }
}
