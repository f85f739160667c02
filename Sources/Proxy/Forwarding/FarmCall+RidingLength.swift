import Balancer
import WireFormats

extension FarmCall {
    /// The call as it goes out on `lease`: a call placed on a runner loaded for a longer length (or a
    /// load for one) carries that length (`Lease.sentContextLength`), so Ollama serves it on that
    /// runner instead of reloading it: a call that sets no `num_ctx`, or under `numCtx: atLeast` one
    /// that asks a shorter length. Every other call goes as the client sent it, its bytes untouched; a
    /// form (`/v1/audio/transcriptions`) has no `options` and is not read.
    func sent(on lease: Lease) -> FarmCall {
        guard let length = lease.sentContextLength, length != contextLength, contentType == "application/json",
            case .object(var fields)? = try? JSONParser.parse(body)
        else { return self }
        var options: JSONObject
        switch fields["options"] {
        case nil, .null?: options = [:]
        case .object(let given)? where contextLength != nil || given["num_ctx"] == nil: options = given
        // A `num_ctx` Ollama would refuse, or options that are not an object: Ollama says so.
        default: return self
        }
        options["num_ctx"] = .int(Int64(length))
        fields["options"] = .object(options)
        var sent = self
        sent.body = JSONValue.object(fields).serialized()
        sent.contextLength = length
        return sent
    }
}
