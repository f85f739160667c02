"""Frameworks teams already run in front of Ollama, pointed at TensorWall instead: LangChain
(ChatOllama, ChatOpenAI), LiteLLM (as an `ollama_chat/` and an `openai/` backend), LlamaIndex
and Haystack. Each check fails if TensorWall answers in a shape the framework cannot read.

One of the simulated nodes writes Python-style spaced JSON, so native streams cross both layouts.
"""

import os

BASE = os.environ["TENSORWALL_URL"]
KEY = os.environ["TENSORWALL_KEY"]
# The `ollama` package sends `Authorization: Bearer $OLLAMA_API_KEY`; LlamaIndex and Haystack
# build their clients from it, which is how their users reach a gateway that wants a key.
os.environ["OLLAMA_API_KEY"] = KEY
# LiteLLM otherwise fetches its model price list from the internet at import.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_langchain_chat_ollama_invoke_stream_and_tools():
    from langchain_ollama import ChatOllama

    llm = ChatOllama(model="llama3.2", base_url=BASE, client_kwargs={"headers": {"X-API-Key": KEY}})
    reply = llm.invoke("Hello!")
    assert reply.content
    assert reply.usage_metadata["output_tokens"] > 0
    chunks = list(llm.stream("Hello!"))
    assert len(chunks) > 2
    assert "".join(chunk.content for chunk in chunks) == reply.content
    called = llm.bind_tools([WEATHER_TOOL]).invoke("What is the weather in Paris?")
    assert called.tool_calls and called.tool_calls[0]["name"] == "get_weather"
    assert called.tool_calls[0]["args"] == {"city": "Paris"}


def test_langchain_chat_openai_invoke_stream_and_tools():
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="llama3.2", base_url=f"{BASE}/v1", api_key=KEY, max_retries=0)
    reply = llm.invoke("Hello!")
    assert reply.content
    assert reply.response_metadata["finish_reason"] == "stop"
    chunks = list(llm.stream("Hello!"))
    assert "".join(chunk.content for chunk in chunks) == reply.content
    called = llm.bind_tools([WEATHER_TOOL]).invoke("What is the weather in Paris?")
    assert called.tool_calls and called.tool_calls[0]["name"] == "get_weather"
    assert called.tool_calls[0]["args"] == {"city": "Paris"}


def test_litellm_as_ollama_chat_backend():
    import litellm

    messages = [{"role": "user", "content": "Hello!"}]
    reply = litellm.completion(model="ollama_chat/llama3.2", api_base=BASE, api_key=KEY, messages=messages)
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens > 0
    streamed = litellm.completion(model="ollama_chat/llama3.2", api_base=BASE, api_key=KEY, messages=messages, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed)
    assert text == reply.choices[0].message.content


def test_litellm_as_openai_backend():
    import litellm

    messages = [{"role": "user", "content": "Hello!"}]
    reply = litellm.completion(model="openai/llama3.2", api_base=f"{BASE}/v1", api_key=KEY, messages=messages)
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    streamed = litellm.completion(model="openai/llama3.2", api_base=f"{BASE}/v1", api_key=KEY, messages=messages, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed)
    assert text == reply.choices[0].message.content
    vectors = litellm.embedding(model="openai/nomic-embed-text", api_base=f"{BASE}/v1", api_key=KEY, input=["a", "b"])
    assert len(vectors.data) == 2


def test_llama_index_chat_stream_and_embeddings():
    from llama_index.core.llms import ChatMessage
    from llama_index.embeddings.ollama import OllamaEmbedding
    from llama_index.llms.ollama import Ollama

    llm = Ollama(model="llama3.2", base_url=BASE, request_timeout=30.0)
    reply = llm.chat([ChatMessage(role="user", content="Hello!")])
    assert reply.message.content
    streamed = list(llm.stream_chat([ChatMessage(role="user", content="Hello!")]))
    assert len(streamed) > 2
    assert streamed[-1].message.content == reply.message.content
    embedder = OllamaEmbedding(model_name="nomic-embed-text", base_url=BASE)
    vector = embedder.get_text_embedding("hello")
    assert len(vector) > 0
    assert len(embedder.get_text_embedding_batch(["a", "b", "c"])) == 3


def test_haystack_chat_stream_and_embeddings():
    from haystack.dataclasses import ChatMessage
    from haystack_integrations.components.embedders.ollama import OllamaTextEmbedder
    from haystack_integrations.components.generators.ollama import OllamaChatGenerator

    generator = OllamaChatGenerator(model="llama3.2", url=BASE)
    reply = generator.run(messages=[ChatMessage.from_user("Hello!")])["replies"][0]
    assert reply.text
    pieces = []
    streaming = OllamaChatGenerator(model="llama3.2", url=BASE, streaming_callback=lambda chunk: pieces.append(chunk.content))
    streamed = streaming.run(messages=[ChatMessage.from_user("Hello!")])["replies"][0]
    assert len(pieces) > 2
    assert "".join(pieces) == streamed.text == reply.text
    embedding = OllamaTextEmbedder(model="nomic-embed-text", url=BASE).run(text="hello")["embedding"]
    assert len(embedding) > 0
