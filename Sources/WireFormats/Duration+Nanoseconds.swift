extension Duration {
    /// The duration in whole nanoseconds: the unit of Ollama's `total_duration`, `load_duration` and
    /// the rest, written by TensorWall's reshaped answers and by the simulated node alike.
    public var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
