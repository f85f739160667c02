extension ClusterConfig {
    /// Why an `allowedOrigins` entry could never match a browser's `Origin` header, or nil when it
    /// can. A browser sends `scheme://host[:port]`, lowercase and without a path, so an entry
    /// without a scheme, with a path or with a trailing "/" would silently refuse the page it names.
    public static func originProblem(_ origin: String) -> String? {
        if origin == "*" { return nil }
        if origin.contains(",") { return "lists one origin per entry: give each its own string" }
        if origin.contains(where: { $0 == " " || $0 == "\t" }) { return "must not contain spaces" }
        guard let separator = origin.range(of: "://"), separator.lowerBound > origin.startIndex else {
            return "must be \"*\" or an origin with its scheme, like \"https://chat.example.com\" or \"chrome-extension://*\""
        }
        let scheme = origin[..<separator.lowerBound]
        guard scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) else {
            return "has no valid scheme before \"://\""
        }
        if origin[separator.upperBound...].contains("/") {
            return "has a path; an origin is only scheme://host[:port] (drop everything from the first \"/\" after the host)"
        }
        if origin.count(where: { $0 == "*" }) > 1 { return "may hold at most one \"*\"" }
        return nil
    }
}
