/// Go duration strings as Ollama accepts them for `keep_alive` ("5m", "1h30m", "-1s", "0"): the
/// config validates them with it and the simulated node reads them with it.
public enum GoDuration {
    public static func isValid(_ text: String) -> Bool {
        seconds(text) != nil
    }

    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text)
        var sign = 1.0
        if rest.hasPrefix("-") {
            sign = -1
            rest.removeFirst()
        } else if rest.hasPrefix("+") {
            rest.removeFirst()
        }
        if rest == "0" { return 0 }
        var total = 0.0
        var sawUnit = false
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest.removeFirst(digits.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            rest.removeFirst(unit.count)
            let scale: Double
            switch unit {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 0.001
            case "us", "µs": scale = 0.000_001
            case "ns": scale = 0.000_000_001
            default: return nil
            }
            total += number * scale
            sawUnit = true
        }
        return sawUnit ? sign * total : nil
    }
}
