import Balancer
import Testing

@testable import Proxy

@Suite(.stopsFarms) struct ConfigExplanationTests {
    @Test func explainsTheEffectiveSettingsWithoutSecrets() throws {
        let config = try ClusterConfig.parse(
            Array(
                #"""
                {"apiKeys":[{"name":"web","key":"gw_secret_value"}],"warm":{"llama3.2":2},"allowedOrigins":["https://chat.example.com"],
                 "nodes":[{"name":"a","url":"http://a:11434","vramGB":24}],
                 "cloud":[{"name":"openai","url":"https://api.openai.com/v1","apiKeyEnv":"OPENAI_API_KEY","models":["gpt-4o"]}],
                 "routes":{"gpt-4":[{"target":"ollama/llama3.1:70b","weight":80},{"target":"openai/gpt-4","weight":20,"priority":1}]}}
                """#.utf8))
        let text = ConfigExplanation.lines(config, path: "c.json", environment: ["OPENAI_API_KEY": "sk-live-secret"]).joined(
            separator: "\n")
        #expect(text.contains("1 gateway key(s): web"))
        #expect(text.contains("a  http://a:11434  priority 0  weight 100"))
        #expect(text.contains("24.0 GB VRAM"))
        #expect(text.contains("1 slot(s) per model (more if probing finds them)"))  // maxParallel left out
        #expect(text.contains("key from $OPENAI_API_KEY (set)"))
        #expect(text.contains("gpt-4 [affinity] → ollama/llama3.1:70b (priority 0, weight 80), openai/gpt-4 (priority 1, weight 20)"))
        #expect(text.contains("warm: llama3.2 on 2 node(s)"))
        #expect(text.contains("browser pages allowed besides localhost's: https://chat.example.com"))
        #expect(!text.contains("gw_secret_value") && !text.contains("sk-live-secret"))
    }
}
