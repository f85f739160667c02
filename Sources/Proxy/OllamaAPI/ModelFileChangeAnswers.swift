import APITranslation
import Foundation
import WireFormats

/// What the nodes answered to one change of their model files (`/api/delete`, `/api/copy`), read
/// as the one answer a client of a single Ollama expects.
///
/// A node without the model answers 404, and on a farm most nodes may hold a model that is not on
/// every node: that is no failure while another node made the change. Anything else a node
/// answered, or not answering at all, is a failure the operator must see, named by node, even when
/// other nodes made the change, because the farm is then left half changed.
struct ModelFileChangeAnswers {
    enum Verdict: Equatable {
        /// Ollama's empty 200.
        case done
        case failed(APIError)
    }

    /// Nodes that made the change.
    private(set) var changed: [String] = []
    /// Nodes without the model, with Ollama's 404 text.
    private var lacking: [(node: String, error: String)] = []
    /// Nodes that refused the request itself (400), with Ollama's text.
    private var refused: [(node: String, error: String)] = []
    /// Nodes that failed otherwise, with why.
    private var failures: [(node: String, error: String)] = []

    mutating func record(_ answer: NodeAnswer, from node: String) {
        switch answer {
        case .answered(let status, _) where (200..<300).contains(status):
            changed.append(node)
        case .answered(404, let body):
            lacking.append((node, Self.errorText(body, status: 404)))
        case .answered(400, let body):
            refused.append((node, Self.errorText(body, status: 400)))
        case .answered(let status, let body):
            failures.append((node, Self.errorText(body, status: status)))
        case .unreachable(let reason):
            failures.append((node, reason))
        }
    }

    var verdict: Verdict {
        let broken = (refused + failures).sorted { $0.node < $1.node }
        if !failures.isEmpty || (!refused.isEmpty && !changed.isEmpty) {
            var message = broken.map { "node \($0.node): \($0.error)" }.joined(separator: "; ")
            if !changed.isEmpty { message += " (done on \(changed.sorted().joined(separator: ", ")))" }
            return .failed(APIError(status: 500, message))
        }
        if let first = refused.min(by: { $0.node < $1.node }) { return .failed(APIError(status: 400, first.error)) }
        if !changed.isEmpty { return .done }
        // Every node lacks it: Ollama's own words for it, as one node would answer.
        return .failed(APIError(status: 404, lacking.min(by: { $0.node < $1.node })?.error ?? "model not found"))
    }

    /// The node's `{"error": ...}` text, or its body as text, or its status.
    private static func errorText(_ body: [UInt8], status: Int) -> String {
        if let text = (try? JSONParser.parse(body))?["error"]?.stringValue { return text }
        let raw = String(decoding: body.prefix(512), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return raw.isEmpty ? "status \(status)" : raw
    }
}
