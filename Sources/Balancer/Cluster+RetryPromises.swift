extension Cluster {
    /// The farm refused a request that another target of its route then served: the client will not
    /// come back, so the place kept for it goes to others at once.
    public func withdrawPlaceKept(retryKey: UInt64, model: ModelName) {
        let model = runnerModel(model)
        retryPromises.withLock { $0.withdraw(retryKey, model: model) }
    }

    /// Places kept for refused requests until they come back (`RetryPromises`), per model.
    public func placesKeptForRetries() -> [ModelName: Int] {
        let now = clock()
        return retryPromises.withLock { $0.outstandingByModel(now: now) }
    }

    /// How long `promised` places kept for refused requests take the model's warm slots to serve:
    /// what a new arrival waits beyond the queue, once they are back.
    func promisedPlacesSeconds(_ promised: Int, model: ModelName, snapshots: [NodeSnapshot]) -> Double {
        let service = meanServiceSeconds(model, snapshots: snapshots)
        return Double(promised) * service / Double(max(1, AffinityPlacement.warmSlots(model, on: snapshots)))
    }
}
