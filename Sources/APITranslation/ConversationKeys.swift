import Balancer
import WireFormats

/// Hashes of a conversation's message prefix. Turn n+1 of a chat repeats turn n's messages and
/// adds the assistant's answer and a new user message, so the hash of "all but the last two"
/// messages of a request equals the hash of "all" messages of the request before it.
package struct ConversationKeys {
    package let previousTurn: UInt64?
    package let thisTurn: UInt64

    package init(model: String, messages: [JSONValue]) {
        var hash = FNV1a()
        hash.add(Array(model.utf8))
        var prefixHashes: [UInt64] = [hash.value]
        var bytes = [UInt8]()
        for message in messages {
            bytes.removeAll(keepingCapacity: true)
            message.write(into: &bytes)
            hash.add(bytes)
            prefixHashes.append(hash.value)
        }
        thisTurn = hash.value
        previousTurn = messages.count >= 3 ? prefixHashes[messages.count - 2] : nil
    }
}

/// 64-bit FNV-1a: fast and good enough to tell conversations apart (a collision only costs a cache miss).
package struct FNV1a {
    package private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    package mutating func add(_ bytes: [UInt8]) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        value ^= 0xff  // separates "ab"+"c" from "a"+"bc"
        value = value &* 0x100_0000_01b3
    }
}
