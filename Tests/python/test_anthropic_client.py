"""The official `anthropic` package against a running TensorWall's `/v1/messages` (which the nodes'
Ollama serves): a whole message, a stream, and errors as its own exceptions.

TENSORWALL_URL and TENSORWALL_KEY are set by run_client_checks.sh.
"""

import os

import anthropic
import pytest

BASE = os.environ["TENSORWALL_URL"]
KEY = os.environ["TENSORWALL_KEY"]


@pytest.fixture
def client():
    # The SDK sends its key as x-api-key, which TensorWall reads.
    return anthropic.Anthropic(base_url=BASE, api_key=KEY, max_retries=0)


def test_a_whole_message(client):
    message = client.messages.create(
        model="llama3.2", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert message.type == "message"
    assert message.content[0].text
    assert message.usage.output_tokens > 0


def test_a_streamed_message(client):
    with client.messages.stream(model="llama3.2", max_tokens=64, messages=[{"role": "user", "content": "Say hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert final.stop_reason == "end_turn"


def test_a_cloud_route(client):
    # cluster.json's "cloud-chat" route names only the cloud endpoint (OpenAI-compatible): the
    # message goes out in OpenAI's fields and comes back as Anthropic's, whole and streamed.
    message = client.messages.create(
        model="cloud-chat", max_tokens=4, system="Be brief.", messages=[{"role": "user", "content": "Say hi"}]
    )
    assert message.type == "message" and message.model == "cloud-chat"
    assert message.content[0].text and message.stop_reason == "max_tokens" and message.usage.output_tokens == 4
    with client.messages.stream(model="cloud-chat", max_tokens=64, messages=[{"role": "user", "content": "Say hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_errors_are_the_sdks_exceptions(client):
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="llama9", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    bad = anthropic.Anthropic(base_url=BASE, api_key="gw_wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="llama3.2", max_tokens=8, messages=[{"role": "user", "content": "x"}])
