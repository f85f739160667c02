import WireFormats

/// Ollama's `keep_alive` rules: a number is seconds, a string is a Go duration, negative is forever.
enum KeepAliveValue {
    struct Invalid: Error { let message: String }

    static func seconds(_ value: JSONValue) -> Result<Double, Invalid> {
        if let number = value.doubleValue { return .success(number) }
        guard let text = value.stringValue else {
            return .failure(Invalid(message: "json: cannot unmarshal \(value.goTypeName) into Go value of type api.Duration"))
        }
        if let seconds = GoDuration.seconds(text) { return .success(seconds) }
        if Double(text) != nil { return .failure(Invalid(message: "time: missing unit in duration \"\(text)\"")) }
        return .failure(Invalid(message: "time: invalid duration \"\(text)\""))
    }
}
