/// HTTP's `Date` header (RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), which Go's
/// server sends on every answer: a node's own clock, to read its other timestamps against.
public enum HTTPDate {
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let dayNames = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday

    /// Seconds since 1970, or nil for anything but an IMF-fixdate.
    public static func parse(_ text: String) -> Double? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].count == 4, fields[0].last == ",", fields[5] == "GMT",
            let day = Int(fields[1]), fields[1].count == 2, (1...31).contains(day),
            let monthIndex = monthNames.firstIndex(of: String(fields[2])),
            let year = Int(fields[3]), fields[3].count == 4
        else { return nil }
        let clock = fields[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }), let hour = Int(clock[0]), let minute = Int(clock[1]),
            let second = Int(clock[2]), hour < 24, minute < 60, second < 61
        else { return nil }
        return Double(RFC3339.daysFromCivil(year, monthIndex + 1, day) * 86400 + hour * 3600 + minute * 60 + second)
    }

    /// `seconds` since 1970 as an IMF-fixdate (whole seconds, rounded down).
    public static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        let days = whole >= 0 ? whole / 86400 : (whole - 86399) / 86400
        let secondsOfDay = whole - days * 86400
        let (year, month, day) = RFC3339.civil(fromDays: days)
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let weekday = dayNames[((days % 7) + 7) % 7]
        return
            "\(weekday), \(pad(day)) \(monthNames[month - 1]) \(year) \(pad(secondsOfDay / 3600)):\(pad(secondsOfDay / 60 % 60)):\(pad(secondsOfDay % 60)) GMT"
    }
}
