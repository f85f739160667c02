extension StringProtocol {
    /// Without the spaces and tabs at either end: the only whitespace HTTP header values, keys
    /// pasted into a file and model names in a request may carry around them.
    public func trimmingSpacesAndTabs() -> SubSequence { trimming { $0 == " " || $0 == "\t" } }

    /// Without any whitespace at either end, as Go's `strings.TrimSpace` reads a field Ollama compares.
    public func trimmingWhitespace() -> SubSequence { trimming(\.isWhitespace) }

    private func trimming(_ isTrimmed: (Character) -> Bool) -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, isTrimmed(self[start]) { start = index(after: start) }
        while end > start {
            let before = index(before: end)
            guard isTrimmed(self[before]) else { break }
            end = before
        }
        return self[start..<end]
    }
}
