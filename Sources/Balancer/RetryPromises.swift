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
    /// `byKey` counted per model, and its soonest expiry: every new arrival asks how many places its
    /// model has promised, and under overload thousands may be, so neither is counted per request.
    private var countByModel: [ModelName: Int] = [:]
    private var soonestExpiry = Double.infinity
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
            remove(soonest.key)
        }
        remove(key)
        let expiresAt = now + retryAfterSeconds + Self.graceSeconds
        byKey[key] = Promise(model: model, expiresAt: expiresAt)
        countByModel[model, default: 0] += 1
        soonestExpiry = min(soonestExpiry, expiresAt)
    }

    /// Whether the request is a retry that holds a place; the place is given up either way.
    mutating func redeem(_ key: UInt64, model: ModelName, now: Double) -> Bool {
        guard let promise = remove(key) else { return false }
        return promise.model == model && promise.expiresAt >= now
    }

    /// Gives up the place kept for a request that was served elsewhere (a cloud tier of its route).
    mutating func withdraw(_ key: UInt64, model: ModelName) {
        if byKey[key]?.model == model { remove(key) }
    }

    /// Places promised for `model` whose clients may still come back.
    mutating func outstanding(_ model: ModelName, now: Double) -> Int {
        pruneExpired(now: now)
        return countByModel[model] ?? 0
    }

    /// Places promised per model whose clients may still come back (models with none left out).
    mutating func outstandingByModel(now: Double) -> [ModelName: Int] {
        pruneExpired(now: now)
        return countByModel
    }

    var isEmpty: Bool { byKey.isEmpty }

    @discardableResult private mutating func remove(_ key: UInt64) -> Promise? {
        guard let promise = byKey.removeValue(forKey: key) else { return nil }
        countByModel[promise.model]! -= 1
        if countByModel[promise.model] == 0 { countByModel[promise.model] = nil }
        return promise
    }

    /// Drops expired promises; a scan only once the soonest of them has expired.
    private mutating func pruneExpired(now: Double) {
        guard soonestExpiry < now else { return }
        byKey = byKey.filter { $0.value.expiresAt >= now }
        countByModel = byKey.values.reduce(into: [:]) { $0[$1.model, default: 0] += 1 }
        soonestExpiry = byKey.values.map(\.expiresAt).min() ?? .infinity
    }
}
