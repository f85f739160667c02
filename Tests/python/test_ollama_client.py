"""The official `ollama` package against a running TensorWall (its native /api routes), and
/metrics read with prometheus_client's parser."""

import base64
import json
import os

import ollama
import pytest
import requests
from pydantic import BaseModel
from prometheus_client.parser import text_string_to_metric_families

BASE = os.environ["TENSORWALL_URL"]
KEY = os.environ["TENSORWALL_KEY"]

PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="
)


@pytest.fixture
def client():
    return ollama.Client(host=BASE, headers={"Authorization": f"Bearer {KEY}"})


def test_chat_plain_and_streaming(client):
    response = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello!"}])
    assert response.message.role == "assistant" and response.message.content
    assert response.done and response.eval_count > 0
    parts = list(client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello!"}], stream=True))
    assert len(parts) > 2 and parts[-1].done
    assert "".join(part.message.content for part in parts)


def test_a_pydantic_schema_as_format_comes_back_as_its_instance(client):
    class Capital(BaseModel):
        city: str
        population: int
        landmarks: list[str]

    messages = [{"role": "user", "content": "The capital of France?"}]
    response = client.chat(model="llama3.2", messages=messages, format=Capital.model_json_schema())
    capital = Capital.model_validate_json(response.message.content)
    assert capital.city and capital.landmarks
    parts = client.generate(model="llama3.2", prompt="The capital of France?", format=Capital.model_json_schema(), stream=True)
    assert Capital.model_validate_json("".join(part.response for part in parts)) == capital
    assert isinstance(json.loads(client.generate(model="llama3.2", prompt="Hi", format="json").response), dict)


def test_route_alias(client):
    # cluster.json's "gpt-4" route sends the farm's llama3.2; an Ollama client names it like a model.
    response = client.chat(model="gpt-4", messages=[{"role": "user", "content": "Hello!"}])
    assert response.message.content and response.done
    parts = list(client.generate(model="gpt-4", prompt="Hello!", stream=True))
    assert len(parts) > 2 and parts[-1].done
    # Listed and described as a model, as `ollama list` and `ollama run` ask before they chat.
    assert any(model.model == "gpt-4" for model in client.list().models)
    assert client.show("gpt-4").details is not None


def test_cloud_route_chat_and_generate(client):
    # cluster.json's "cloud-chat" route names only the cloud endpoint: the Ollama client's chat and
    # generate go out in OpenAI's fields and come back in Ollama's, whole and streamed.
    response = client.chat(model="cloud-chat", messages=[{"role": "user", "content": "Hello!"}], options={"num_predict": 4})
    assert response.message.role == "assistant" and response.message.content
    assert response.done and response.done_reason == "length" and response.eval_count == 4
    assert response.eval_duration > 0  # what clients divide eval_count by for tokens per second
    parts = list(client.chat(model="cloud-chat", messages=[{"role": "user", "content": "Hello!"}], stream=True))
    assert len(parts) > 2 and parts[-1].done and parts[-1].eval_count > 0
    assert "".join(part.message.content for part in parts)
    generated = client.generate(model="cloud-chat", system="Be brief.", prompt="Why is the sky blue?")
    assert generated.response and generated.done and generated.eval_count > 0
    pieces = list(client.generate(model="cloud-chat", prompt="Why is the sky blue?", stream=True))
    assert len(pieces) > 2 and pieces[-1].done and "".join(piece.response for piece in pieces)


def test_cloud_route_embeddings(client):
    # The same route's embeddings: OpenAI's /embeddings, answered in Ollama's shape, each vector of length 1.
    response = client.embed(model="cloud-chat", input=["first", "second"])
    assert response.model == "cloud-chat" and len(response.embeddings) == 2
    assert all(abs(sum(value * value for value in vector) - 1) < 1e-6 for vector in response.embeddings)
    legacy = client.embeddings(model="cloud-chat", prompt="first")
    assert len(legacy.embedding) == len(response.embeddings[0])


def test_generate(client):
    response = client.generate(model="llama3.2", prompt="Why is the sky blue?")
    assert response.response and response.done


def test_vision(client):
    response = client.chat(model="llava", messages=[{"role": "user", "content": "What is this?", "images": [PIXEL]}])
    assert response.message.content


def test_tool_calls(client):
    def get_weather(city: str) -> str:
        """Weather in a city.

        Args:
          city: the city
        """
        return "sunny"

    response = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[get_weather])
    call = response.message.tool_calls[0]
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}


def test_embeddings(client):
    response = client.embed(model="nomic-embed-text", input=["a", "b"])
    assert len(response.embeddings) == 2 and len(response.embeddings[0]) == 8
    legacy = client.embeddings(model="nomic-embed-text", prompt="a")
    assert len(legacy.embedding) == 8


def test_list_ps_show_version(client):
    names = {model.model for model in client.list().models}
    assert {"llama3.2:latest", "llava:latest", "nomic-embed-text:latest"} <= names
    assert len([m for m in client.list().models if m.model == "llama3.2:latest"]) == 1  # one entry for two nodes
    assert any(model.model == "llama3.2:latest" for model in client.ps().models)
    shown = client.show("llama3.2")
    assert shown.modelfile and "completion" in shown.capabilities
    assert requests.get(f"{BASE}/api/version", headers={"X-API-Key": KEY}).json()["version"]


def test_a_client_setting_num_ctx_is_served_without_loads_back_and_forth(client):
    # Ollama reloads a model for a request with another num_ctx. TensorWall gives the longer length a
    # runner, and sends the calls that set none to it with that length.
    def cold_loads():
        text = requests.get(f"{BASE}/metrics").text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "tensorwall_model_cold_loads_total" and sample.labels.get("model") == "llama3.2:latest"
        )

    first = client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello!"}], options={"num_ctx": 8192})
    assert first.done and first.message.content
    before = cold_loads()
    for _ in range(3):
        response = client.chat(
            model="llama3.2", messages=[{"role": "user", "content": "Hello!"}], options={"num_ctx": 8192}
        )
        assert response.done and response.message.content
        assert client.chat(model="llama3.2", messages=[{"role": "user", "content": "Hello!"}]).done
    # Not a load per call (six): at most two, the planner's copy on the other node and a runner
    # loaded there for the automatic length by other checks' calls, reloaded for 8192 once idle.
    assert cold_loads() <= before + 2
    status = requests.get(f"{BASE}/status", headers={"X-API-Key": KEY}).json()
    lengths = {
        model.get("contextLength")
        for node in status["nodes"]
        for model in node["loadedModels"]
        if model["name"] == "llama3.2:latest"
    }
    # Other checks' clients ask their own lengths (LlamaIndex sends num_ctx 3900).
    assert 8192 in lengths


def test_pull_streams_progress_from_every_node(client):
    statuses = [part.status for part in client.pull("phi3", stream=True)]
    assert statuses[-1] == "success"
    assert "node a: success" in statuses and "node b: success" in statuses


def test_push_is_sent_from_one_node_that_holds_the_model(client):
    statuses = [part.status for part in client.push("llama3.2", stream=True)]
    assert statuses[-1] == "success" and "pushing manifest" in statuses
    assert client.push("llama3.2").status == "success"


def test_create_copy_and_delete_change_every_node(client):
    made = client.create(model="py-coder", from_="llama3.2", system="You are a helpful coding assistant.")
    assert made.status == "success"
    assert "py-coder:latest" in [m.model for m in client.list().models]
    assert client.chat(model="py-coder", messages=[{"role": "user", "content": "hi"}]).done
    assert client.delete("py-coder").status == "success"
    assert client.copy("llama3.2", "team-llama").status == "success"
    assert "team-llama:latest" in [m.model for m in client.list().models]
    assert client.delete("team-llama").status == "success"
    assert "team-llama:latest" not in [m.model for m in client.list().models]
    with pytest.raises(ollama.ResponseError) as raised:
        client.delete("team-llama")
    assert raised.value.status_code == 404 and raised.value.error == "model 'team-llama' not found"


def test_create_from_an_uploaded_gguf_on_every_node(client, tmp_path):
    # Larger than one read of the upload, so it reaches the nodes in pieces; each node checks the digest.
    weights = tmp_path / "model.gguf"
    weights.write_bytes(bytes(range(256)) * 8192)
    digest = client.create_blob(weights)
    assert client.create_blob(weights) == digest  # a second upload of a blob every node holds
    made = client.create(model="py-gguf", files={"model.gguf": digest})
    assert made.status == "success"
    assert "py-gguf:latest" in [m.model for m in client.list().models]
    assert client.chat(model="py-gguf", messages=[{"role": "user", "content": "hi"}]).done
    assert client.delete("py-gguf").status == "success"


def test_errors(client):
    with pytest.raises(ollama.ResponseError) as raised:
        client.chat(model="llama9", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 404 and raised.value.error == "model 'llama9' not found"
    wrong = ollama.Client(host=BASE, headers={"Authorization": "Bearer gw_wrong"})
    with pytest.raises(ollama.ResponseError) as unauthorised:
        wrong.list()
    assert unauthorised.value.status_code == 401


def test_metrics_parse_and_count_requests(client):
    def count(name, **labels):
        text = requests.get(f"{BASE}/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    before = count("tensorwall_requests_total", key="ci", model="llama3.2", status="200")
    for _ in range(3):
        client.generate(model="llama3.2", prompt="count me")
    after = count("tensorwall_requests_total", key="ci", model="llama3.2", status="200")
    assert after - before == 3
    assert count("tensorwall_node_healthy") == 2
    assert count("tensorwall_time_to_first_token_seconds_count", model="llama3.2") >= 3
