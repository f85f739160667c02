import Balancer
import WireFormats

/// Adds a field to a JSON object's bytes without decoding and re-encoding the rest.
package enum JSONSplice {
    /// `object` with `"key":value` as its first field. `object` must be a JSON object (the caller
    /// parsed it already) that does not have `key`.
    package static func prependingField(_ key: String, _ value: JSONValue, to object: [UInt8]) -> [UInt8] {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        guard let brace = object.firstIndex(where: { !whitespace.contains($0) }), object[brace] == UInt8(ascii: "{") else {
            return object
        }
        let isEmpty = object[(brace + 1)...].first(where: { !whitespace.contains($0) }) == UInt8(ascii: "}")
        var field = JSONValue.string(key).serialized()
        field.append(UInt8(ascii: ":"))
        value.write(into: &field)
        if !isEmpty { field.append(UInt8(ascii: ",")) }
        var out = [UInt8]()
        out.reserveCapacity(object.count + field.count)
        out += object[...brace]
        out += field
        out += object[(brace + 1)...]
        return out
    }
}
