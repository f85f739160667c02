"""The calls Open WebUI makes when an Ollama connection is added and used (its `routers/ollama.py`:
version check, model list, running models, model details, a streamed chat with `keep_alive`,
embeddings), made the way it makes them: `Authorization: Bearer <key>`, JSON bodies, NDJSON read
line by line."""

import json
import os

import requests

BASE = os.environ["TENSORWALL_URL"]
HEADERS = {"Authorization": f"Bearer {os.environ['TENSORWALL_KEY']}", "Content-Type": "application/json"}


def test_connection_check_and_model_lists():
    version = requests.get(f"{BASE}/api/version", headers=HEADERS, timeout=10)
    assert version.status_code == 200 and version.json()["version"]
    tags = requests.get(f"{BASE}/api/tags", headers=HEADERS, timeout=10).json()
    names = [model["name"] for model in tags["models"]]
    assert "llama3.2:latest" in names
    for model in tags["models"]:
        assert model["model"] and model["size"] > 0 and model["details"]["family"]
    running = requests.get(f"{BASE}/api/ps", headers=HEADERS, timeout=10).json()
    assert isinstance(running["models"], list)
    shown = requests.post(f"{BASE}/api/show", headers=HEADERS, json={"model": "llama3.2:latest"}, timeout=10).json()
    assert shown["details"]["family"] and "capabilities" in shown


def test_streamed_chat_with_keep_alive():
    body = {
        "model": "llama3.2:latest",
        "messages": [{"role": "user", "content": "Hello!"}],
        "stream": True,
        "keep_alive": "5m",
        "options": {"temperature": 0.7},
    }
    with requests.post(f"{BASE}/api/chat", headers=HEADERS, json=body, stream=True, timeout=30) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert all("error" not in line for line in lines)
    assert lines[-1]["done"] is True and lines[-1]["eval_count"] > 0
    assert "".join(line["message"]["content"] for line in lines)


def test_embeddings():
    answer = requests.post(
        f"{BASE}/api/embed", headers=HEADERS, json={"model": "nomic-embed-text", "input": ["a", "b"]}, timeout=30
    )
    assert answer.status_code == 200
    assert len(answer.json()["embeddings"]) == 2
