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

extension ConversationKeys {
    /// The keys of a Responses API request, from its turns as chat messages: `instructions` as the
    /// system's, a string `input` as the user's, and each input item with a role as that role's
    /// text (a string, or its parts' texts joined). Turn n+1 repeats turn n's input as items, its
    /// answer among them, so the same words must hash alike in either form. Nil without a turn.
    package init?(model: String, responsesRequest fields: JSONObject) {
        var messages: [JSONValue] = []
        func turn(_ role: String, _ text: String) { messages.append(["role": .string(role), "content": .string(text)]) }
        if let instructions = fields["instructions"]?.stringValue { turn("system", instructions) }
        if let text = fields["input"]?.stringValue {
            turn("user", text)
        } else {
            for item in fields["input"]?.arrayValue ?? [] {
                guard let role = item["role"]?.stringValue, let content = item["content"] else { continue }
                turn(role, Self.text(of: content))
            }
        }
        guard !messages.isEmpty else { return nil }
        self.init(model: model, messages: messages)
    }

    /// The keys of an Anthropic Messages API request: `system` and each message as chat messages,
    /// their text a string or the text of their blocks. Nil without a message.
    package init?(model: String, anthropicRequest fields: JSONObject) {
        var messages: [JSONValue] = []
        if let system = fields["system"], !system.isNull { messages.append(["role": "system", "content": .string(Self.text(of: system))]) }
        for message in fields["messages"]?.arrayValue ?? [] {
            guard let role = message["role"]?.stringValue, let content = message["content"] else { continue }
            messages.append(["role": .string(role), "content": .string(Self.text(of: content))])
        }
        guard !messages.isEmpty else { return nil }
        self.init(model: model, messages: messages)
    }

    /// A turn's text: a string, or its parts' texts joined.
    private static func text(of content: JSONValue) -> String {
        content.stringValue ?? (content.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
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
