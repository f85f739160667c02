extension StringProtocol {
    /// Without the spaces and tabs at either end: the only whitespace HTTP header values, keys
    /// pasted into a file and model names in a request may carry around them.
    public func trimmingSpacesAndTabs() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[start..<end]
    }
}
