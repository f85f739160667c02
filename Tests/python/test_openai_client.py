"""The official `openai` package (and the seed's `requests` examples) against a running TensorWall.

TENSORWALL_URL and TENSORWALL_KEY are set by run_client_checks.sh, which starts the balancer in
front of simulated Ollama nodes.
"""

import base64
import json
import os
from typing import Literal, Optional

import openai
import pytest
import requests
from pydantic import BaseModel

BASE = os.environ["TENSORWALL_URL"]
KEY = os.environ["TENSORWALL_KEY"]

# A 1x1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


@pytest.fixture
def client():
    return openai.OpenAI(base_url=f"{BASE}/v1", api_key=KEY, max_retries=0)


def test_plain_chat_completion(client):
    response = client.chat.completions.create(
        model="ollama/llama3.2", messages=[{"role": "user", "content": "Hello!"}]
    )
    assert response.object == "chat.completion"
    assert response.id.startswith("chatcmpl-")
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.completion_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


def test_bare_model_name_and_max_tokens(client):
    response = client.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "Hello!"}], max_tokens=2, temperature=0.7, top_p=0.9
    )
    assert response.choices[0].finish_reason == "length"
    assert response.usage.completion_tokens == 2


def test_streaming_chat_completion(client):
    stream = client.chat.completions.create(
        model="ollama/llama3.2",
        messages=[{"role": "user", "content": "Tell me a story"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert len({c.id for c in chunks}) == 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_vision_message(client):
    response = client.chat.completions.create(
        model="ollama/llava",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                ],
            }
        ],
    )
    assert response.choices[0].message.content


class City(BaseModel):
    name: str
    population: int


class Trip(BaseModel):
    """Nested models, a list, an enum and an optional field: the schema the SDK sends has `$defs`, `$ref`, `anyOf` and `strict`."""

    destination: City
    days: int
    sights: list[str]
    pace: Literal["slow", "fast"]
    note: Optional[str]


def test_structured_output_parses_into_a_pydantic_model(client):
    # The SDK sends `response_format: {"type": "json_schema", ...}`; the node must get it as Ollama's
    # `format`, or it answers free text and the SDK cannot parse it.
    messages = [{"role": "user", "content": "Plan a trip"}]
    completion = client.chat.completions.parse(model="llama3.2", messages=messages, response_format=Trip)
    trip = completion.choices[0].message.parsed
    assert isinstance(trip, Trip) and trip.destination.name and trip.sights
    with client.chat.completions.stream(model="ollama/llama3.2", messages=messages, response_format=Trip) as stream:
        streamed = stream.get_final_completion().choices[0].message.parsed
    assert streamed == trip
    plain = client.chat.completions.create(
        model="llama3.2", messages=messages, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(plain.choices[0].message.content), dict)


def test_wrong_key_is_an_authentication_error():
    bad = openai.OpenAI(base_url=f"{BASE}/v1", api_key="gw_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="llama3.2", messages=[{"role": "user", "content": "x"}])


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="llama9", messages=[{"role": "user", "content": "x"}])
    assert "llama9" in raised.value.message


def test_bad_request_is_reported(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="llama3.2", messages=[])


def test_reasoning_effort_and_logprobs_are_accepted_and_a_bad_effort_refused(client):
    response = client.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "Hello!"}],
        reasoning_effort="low",
        logprobs=True,
        top_logprobs=2,
    )
    assert response.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model="llama3.2", messages=[{"role": "user", "content": "x"}], extra_body={"reasoning_effort": "extreme"}
        )
    assert "invalid reasoning value" in raised.value.message


def test_seed_requests_example_with_x_api_key():
    response = requests.post(
        f"{BASE}/v1/chat/completions",
        headers={"X-API-Key": KEY},
        json={"model": "ollama/llama3.2", "messages": [{"role": "user", "content": "Tell me a story"}], "stream": True},
        stream=True,
    )
    lines = [line.decode() for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    first = json.loads(lines[0][len("data: ") :])
    assert first["object"] == "chat.completion.chunk"


def test_seed_custom_model_without_content_type_header():
    # The seed's curl example for custom models sends no Content-Type.
    response = requests.post(
        f"{BASE}/v1/chat/completions",
        headers={"X-API-Key": KEY},
        data=json.dumps({"model": "ollama/coding-assistant", "messages": [{"role": "user", "content": "hi"}]}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "coding-assistant"


def test_tool_calls(client):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ]
    response = client.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=tools
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    follow_up = client.chat.completions.create(
        model="llama3.2",
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "18 degrees and sunny"},
        ],
        tools=tools,
    )
    assert follow_up.choices[0].message.content


def test_embeddings(client):
    response = client.embeddings.create(model="nomic-embed-text", input=["first", "second"])
    assert [item.index for item in response.data] == [0, 1]
    assert len(response.data[0].embedding) == 8
    assert response.usage.prompt_tokens > 0
    # The SDK asks for base64 by default when numpy is absent? Either way it must decode.
    encoded = client.embeddings.create(model="nomic-embed-text", input="x", encoding_format="base64")
    assert len(encoded.data[0].embedding) in (8, 44)


def test_model_listing(client):
    ids = [model.id for model in client.models.list()]
    assert "llama3.2:latest" in ids and "llava:latest" in ids and "gpt-4" in ids
    assert client.models.retrieve("llama3.2").id == "llama3.2"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_legacy_completions(client):
    response = client.completions.create(model="llama3.2", prompt="Say hi", max_tokens=3)
    assert response.object == "text_completion"
    assert response.choices[0].text
    stream = client.completions.create(model="llama3.2", prompt="Say hi", stream=True)
    assert "".join(chunk.choices[0].text for chunk in stream if chunk.choices)
    with_logprobs = client.completions.create(model="llama3.2", prompt="Say hi", max_tokens=3, logprobs=2)
    assert with_logprobs.choices[0].text
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model="llama3.2", prompt="Say hi", logprobs=21)
    assert "top_logprobs must be between 0 and 20" in raised.value.message


def test_responses_api_whole_and_streamed(client):
    response = client.responses.create(model="llama3.2", input="Say hi", max_output_tokens=3)
    assert response.output_text
    types = [event.type for event in client.responses.create(model="llama3.2", input="Say hi", stream=True)]
    assert types[0] == "response.created"
    assert "response.output_text.delta" in types
    assert types[-1] == "response.completed"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="llama9", input="x")


def test_cloud_endpoint_serves_responses_completions_embeddings_and_transcriptions(client):
    # `openai/gpt-4o` names the cloud endpoint (a simulated OpenAI-compatible API): each API goes
    # to its own path there, the endpoint's model name in place of the client's.
    response = client.responses.create(model="openai/gpt-4o", input="Say hi", max_output_tokens=3)
    assert response.output_text
    assert response.model == "gpt-4o"
    assert response.usage.input_tokens > 0
    types = [event.type for event in client.responses.create(model="openai/gpt-4o", input="Say hi", stream=True)]
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    completion = client.completions.create(model="openai/gpt-4o", prompt="Say hi", max_tokens=3)
    assert completion.choices[0].text
    chunks = list(client.completions.create(model="openai/gpt-4o", prompt="Say hi", stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices)
    vectors = client.embeddings.create(model="openai/gpt-4o", input=["a", "b"])
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) > 0
    chat = client.chat.completions.create(model="openai/gpt-4o", messages=[{"role": "user", "content": "Hello!"}])
    assert chat.model == "gpt-4o"
    assert chat.choices[0].message.content
    audio = b"RIFF\x00\x01\x02WAVEfmt data"
    transcription = client.audio.transcriptions.create(model="openai/gpt-4o", file=("hello.wav", audio, "audio/wav"))
    assert transcription.text
    plain = client.audio.transcriptions.create(model="openai/gpt-4o", file=("hello.wav", audio), response_format="text")
    assert plain.strip() == transcription.text


def test_route_alias(client):
    response = client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "Hello!"}])
    assert response.model == "llama3.2"  # the model that answered, as for ollama/NAME
    assert response.choices[0].message.content


def test_audio_transcription(client):
    audio = b"RIFF\x00\x01\x02WAVEfmt data"
    transcription = client.audio.transcriptions.create(model="ollama/llama3.2", file=("hello.wav", audio, "audio/wav"))
    assert transcription.text
    plain = client.audio.transcriptions.create(model="llama3.2", file=("hello.wav", audio), response_format="text")
    assert plain.strip() == transcription.text
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="llama9", file=("hello.wav", audio))
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(model="llama3.2", file=("hello.wav", b""))
    assert "audio file is empty" in raised.value.message
