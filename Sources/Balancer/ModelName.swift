import WireFormats

/// A model name normalised the way Ollama matches names: `llama3.2`, `Llama3.2:Latest` and
/// `registry.ollama.ai/library/llama3.2:latest` are all `llama3.2:latest`.
public struct ModelName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The shortest display form Ollama prints in `/api/tags` and `/api/ps`.
    public let canonical: String
    /// `canonical`'s hash, worked out once. Model names key most of the planner's and the node
    /// state's dictionaries, and hashing the string's bytes at every lookup was a tenth of a large
    /// farm's plan.
    private let hashCode: Int

    public init?(_ raw: String) {
        guard let name = Self.shortestForm(raw, lowercased: true) else { return nil }
        canonical = name
        hashCode = name.hashValue
    }

    /// `raw` as Ollama prints a name it has not got (`model 'Llama3.2:latest' not found`): the tag
    /// filled in and the default registry and namespace dropped, as in `canonical`, but in the
    /// client's own case. Ollama matches names without regard to case, and its messages keep the
    /// name as the client wrote it. Nil where `ModelName(raw)` is.
    public static func displayShortest(_ raw: String) -> String? { shortestForm(raw, lowercased: false) }

    /// `raw` trimmed, lowercased if asked, with a digest pin dropped (it does not change identity
    /// here), the tag filled in and the default registry and namespace dropped whatever their case;
    /// nil where it is no valid name.
    private static func shortestForm(_ raw: String, lowercased: Bool) -> String? {
        let trimmed = String(raw.trimmingSpacesAndTabs())
        guard !trimmed.isEmpty, trimmed.utf8.count <= 512,
            trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        else { return nil }
        var name = lowercased ? trimmed.lowercased() : trimmed
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        guard !name.isEmpty, !name.hasPrefix("/"), !name.hasSuffix("/"), !hasEmptySegment(name) else { return nil }
        let lastSlash = name.lastIndex(of: "/")
        let lastSegmentStart = lastSlash.map { name.index(after: $0) } ?? name.startIndex
        if name[lastSegmentStart...].contains(":" as Character) {
            guard !name.hasSuffix(":"), !name[lastSegmentStart...].hasPrefix(":") else { return nil }
        } else {
            name += ":latest"
        }
        for prefix in defaultPrefixes where startsWith(prefix, ignoringASCIICase: name) {
            name = String(decoding: name.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
            break
        }
        return name
    }

    /// The registry and namespace a bare name stands for, longest first.
    private static let defaultPrefixes = ["registry.ollama.ai/library/", "registry.ollama.ai/", "library/"]

    /// Whether `name` begins with `prefix` (lowercase ASCII) in any case. Read on the bytes, as
    /// `hasEmptySegment` is: a name is normalised on every request.
    private static func startsWith(_ prefix: String, ignoringASCIICase name: String) -> Bool {
        var bytes = name.utf8.makeIterator()
        for expected in prefix.utf8 {
            guard let byte = bytes.next(), (UInt8(ascii: "A")...UInt8(ascii: "Z") ~= byte ? byte | 0x20 : byte) == expected else {
                return false
            }
        }
        return true
    }

    public static func == (lhs: ModelName, rhs: ModelName) -> Bool { lhs.canonical == rhs.canonical }

    public func hash(into hasher: inout Hasher) { hasher.combine(hashCode) }

    public var description: String { canonical }

    /// Whether two slashes follow each other. Read on the bytes: `contains` with a string argument is
    /// Foundation's search through `NSString` (so is `contains(":")` on a substring unless the literal
    /// is a `Character`), which took 2.4 % of TensorWall's CPU at 1,500 requests/s.
    private static func hasEmptySegment(_ name: String) -> Bool {
        var previous: UInt8 = 0
        for byte in name.utf8 {
            if byte == UInt8(ascii: "/") && previous == byte { return true }
            previous = byte
        }
        return false
    }

    /// The prefix that pins a name to the farm (`ollama/llama3.2`), as the gateway's clients write it.
    public static let farmPrefix = "ollama/"

    /// `name` without `ollama/` in front, and whether it had it (the name is then for the farm only).
    public static func strippingFarmPrefix(_ name: String) -> (name: String, pinnedToFarm: Bool) {
        name.hasPrefix(farmPrefix) ? (String(name.dropFirst(farmPrefix.count)), true) : (name, false)
    }

    public static func < (lhs: ModelName, rhs: ModelName) -> Bool { lhs.canonical < rhs.canonical }
}
