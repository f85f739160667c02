import Balancer
import Testing

@testable import Health

/// What `/api/show` says of a model's automatic context length.
@Suite struct ShowDecodingTests {
    @Test func readsTheModelfileLengthAndTheTrainedOne() throws {
        // Ollama's answer for a model made with `PARAMETER num_ctx 32768` (abridged).
        let show = #"""
            {"license":"","modelfile":"FROM llama3.1:8b\nPARAMETER num_ctx 32768\n",
            "parameters":"num_ctx                        32768\nstop                           \"<|eot_id|>\"",
            "template":"{{ .Prompt }}","details":{"family":"llama"},
            "model_info":{"general.architecture":"llama","general.parameter_count":8030261248,"llama.context_length":131072,
            "llama.embedding_length":4096},"capabilities":["completion","tools"]}
            """#
        let facts = try ProbeDecoding.contextFacts(fromShow: Array(show.utf8))
        #expect(facts == ModelContextFacts(modelfileLength: 32768, trainedLength: 131072))
    }

    @Test func aModelWithoutParametersOrModelInfoSetsNothing() throws {
        let facts = try ProbeDecoding.contextFacts(fromShow: Array(#"{"modelfile":"FROM x","details":{}}"#.utf8))
        #expect(facts == ModelContextFacts(modelfileLength: nil, trainedLength: nil))
        // A parameter named like num_ctx, or a value that is not a length, is not it.
        let other = #"{"parameters":"num_ctx_extra 10\nnum_ctx abc\nnum_keep 24","model_info":{"general.architecture":"qwen2"}}"#
        #expect(try ProbeDecoding.contextFacts(fromShow: Array(other.utf8)) == ModelContextFacts(modelfileLength: nil, trainedLength: nil))
    }

    @Test func somethingElseIsAFailure() {
        #expect(throws: ProbeFailure.self) { try ProbeDecoding.contextFacts(fromShow: Array("not json".utf8)) }
        #expect(throws: ProbeFailure.self) { try ProbeDecoding.contextFacts(fromShow: Array("[1]".utf8)) }
    }
}
