import Synchronization

/// The set of nodes and the act of placing a request on one of them. Randomness is injected so
/// placement can be tested deterministically.
public final class Cluster: Sendable {
    public let nodes: [OllamaNode]
    private let random: Mutex<any RandomNumberGenerator & Sendable>
    private let firstProbe = FirstProbeGate()

    public init(nodes: [ClusterConfig.NodeConfig], random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.nodes = nodes.enumerated().map { OllamaNode(index: $0.offset, config: $0.element) }
        self.random = Mutex(random)
    }

    public func snapshots() async -> [NodeSnapshot] {
        var result: [NodeSnapshot] = []
        result.reserveCapacity(nodes.count)
        for node in nodes { result.append(await node.snapshot()) }
        return result
    }

    /// Called by the prober when every node has been probed once (answered or failed).
    public func markFirstProbeRoundComplete() {
        firstProbe.open()
    }

    /// Places a request for `model` and takes a slot on the chosen node.
    public func acquire(_ model: ModelName, excluding: Set<Int> = []) async -> Result<Lease, PlacementFailure> {
        await firstProbe.wait()
        for _ in 0..<4 {
            switch await decide(model, excluding: excluding) {
            case .failure(let failure):
                return .failure(failure)
            case .success(let choice):
                let node = nodes[choice.nodeIndex]
                if await node.tryAcquire(model, requireWarmSlot: choice.warm) {
                    return .success(Lease(node: node, model: model))
                }
            }
        }
        // Warm slots kept being taken under us: queue on the best node without the warm requirement.
        switch await decide(model, excluding: excluding) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let choice):
            let node = nodes[choice.nodeIndex]
            guard await node.tryAcquire(model, requireWarmSlot: false) else { return .failure(.noHealthyNode) }
            return .success(Lease(node: node, model: model))
        }
    }

    private func decide(_ model: ModelName, excluding: Set<Int>) async -> Result<WarmFirstPlacement.Choice, PlacementFailure> {
        let snapshots = await snapshots()
        return random.withLock { generator in
            var local = generator
            defer { generator = local }
            return WarmFirstPlacement.choose(model, among: snapshots, excluding: excluding, using: &local)
        }
    }
}

/// A slot taken on a node; give it back exactly once with `release`.
public struct Lease: Sendable {
    public let node: OllamaNode
    public let model: ModelName

    public func release(servedSuccessfully: Bool) async {
        await node.release(model, servedSuccessfully: servedSuccessfully)
    }
}

/// Holds placements back until the first probe round has told us what each node has.
final class FirstProbeGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.open else { return [] }
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        if state.withLock({ $0.open }) { return }
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }
}
