import Foundation

/// What a refusal was predicted from. An operator reading "429 overloaded" in a log needs to tell a
/// model short of copies (a long queue on few warm slots) from a farm with no room to load it (a cold
/// load behind busy models), and by the time anyone looks the queue has moved on. So the refusal
/// carries the numbers it was decided on, and the gateway logs them.
public struct RefusalBasis: Sendable, Equatable, CustomStringConvertible {
    /// How the soonest start the farm offered would have begun.
    public enum Start: Sendable, Equatable {
        case warmSlot
        case joiningLoad
        case coldLoad(predictedLoadSeconds: Double, unloading: [ModelName])
    }

    /// Requests already waiting in TensorWall's queue for the model, ahead of this one.
    public var queuedAhead: Int
    /// Parallel slots of the model's warm copies on the nodes that were asked.
    public var warmSlots: Int
    /// Copies of the model loading on those nodes.
    public var copiesLoading: Int
    /// The node of the best start, and how it would have begun.
    public var node: String
    public var start: Start
    /// The wait the request was predicted, in seconds, after calibration.
    public var predictedWaitSeconds: Double
    /// Measured waits over predicted ones for the model (`WaitCalibration`); 1 when not yet learned.
    public var calibration: Double = 1

    /// One line for the log: what was ahead, the best start the farm offered, and the wait predicted.
    /// The wait is the request's own, and may be longer than the start suggests: a cold load that
    /// must first see busy models finish is a hope, and the queue for warm slots is what counts then.
    public var description: String {
        var ahead = "\(queuedAhead) queued ahead for \(warmSlots) warm slot\(warmSlots == 1 ? "" : "s")"
        if copiesLoading > 0 { ahead += " (\(copiesLoading) cop\(copiesLoading == 1 ? "y" : "ies") loading)" }
        let best: String
        switch start {
        case .warmSlot:
            best = "best start a warm slot on \(node)"
        case .joiningLoad:
            best = "best start the load under way on \(node)"
        case .coldLoad(let load, let unloading):
            let making = unloading.isEmpty ? "" : " after unloading \(unloading.map(\.canonical).joined(separator: ", "))"
            best = "best start a cold load on \(node)\(making) (load about \(Int(load.rounded())) s)"
        }
        var predicted = "first token predicted in about \(String(format: "%.1f", predictedWaitSeconds)) s"
        if abs(calibration - 1) >= 0.05 {
            predicted += " (\(String(format: "%.2f", calibration))× the plain estimate, as this model's queued requests have waited)"
        }
        return [ahead, best, predicted].joined(separator: "; ")
    }
}
