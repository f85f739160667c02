#!/usr/bin/env python3
"""An Ollama-like node written in Python from Ollama's API documentation, not from our simulator:
Python's habits throughout. HTTP/1.0 by default (http.server's own, streams ended by the close,
each line dribbled out in 7-byte writes) or HTTP/1.1 with chunked streams whose end is written
apart from the last line; json.dumps spacing and \\u escapes; non-ASCII answer text; a 0.5 s cold
load and an LRU eviction past three loaded models. It serves /, /api/version, /api/tags, /api/ps,
/api/show, /api/chat and /api/generate (streamed or whole, tool calls without ids).

Usage: python_ollama_node.py PORT [HTTP/1.0|HTTP/1.1] [floats]   (floats: durations as 1e9-scaled floats)
"""
import datetime
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
PROTOCOL = sys.argv[2] if len(sys.argv) > 2 else "HTTP/1.0"
FLOAT_DURATIONS = "floats" in sys.argv
MODELS = {"llama3.2:3b": 2.0, "qwen2.5:7b": 4.7, "gemma2:2b": 1.6, "mistral:7b": 4.1}
MAX_LOADED = 3
ANSWER = ["Hé", "llo", " wörld", " 😀", ' "quoted"', "\n", "done"]
lock = threading.Lock()
loaded = {}  # model -> last use


def now():
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat()


def duration(seconds):
    return seconds * 1e9 if FLOAT_DURATIONS else int(seconds * 1e9)


def load(model):
    """Seconds the request spent loading its model (0 when warm)."""
    with lock:
        if model in loaded:
            loaded[model] = time.time()
            return 0.0
    time.sleep(0.5)
    with lock:
        if len(loaded) >= MAX_LOADED:
            del loaded[min(loaded, key=loaded.get)]
        loaded[model] = time.time()
    return 0.5


def entry(name):
    return {"name": name, "model": name, "modified_at": now(), "size": int(MODELS[name] * 1e9),
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                        "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}}


class Node(BaseHTTPRequestHandler):
    protocol_version = PROTOCOL

    def log_message(self, *args):
        pass

    def send_json(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        if self.path == "/":
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/api/version":
            self.send_json(200, {"version": "0.12.3"})
        elif self.path == "/api/tags":
            self.send_json(200, {"models": [entry(name) for name in MODELS]})
        elif self.path == "/api/ps":
            with lock:
                names = list(loaded)
            running = []
            for name in names:
                item = entry(name)
                del item["modified_at"]
                item.update(expires_at=now(), size_vram=item["size"], context_length=4096)
                running.append(item)
            self.send_json(200, {"models": running})
        else:
            self.send_json(404, {"error": "404 page not found"})

    def write_line(self, value):
        line = (json.dumps(value) + "\n").encode()
        if PROTOCOL == "HTTP/1.1":
            self.wfile.write(b"%x\r\n" % len(line) + line + b"\r\n")
        else:
            for start in range(0, len(line), 7):
                self.wfile.write(line[start:start + 7])
                self.wfile.flush()
        self.wfile.flush()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "invalid character"})
        model = request.get("model") or request.get("name") or ""
        if self.path == "/api/show":
            if model not in MODELS:
                return self.send_json(404, {"error": f"model '{model}' not found"})
            return self.send_json(200, {"modelfile": "", "parameters": "", "template": "", "details": entry(model)["details"],
                                        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                                        "capabilities": ["completion", "tools"]})
        if self.path not in ("/api/chat", "/api/generate"):
            return self.send_json(404, {"error": "404 page not found"})
        if model not in MODELS:
            return self.send_json(404, {"error": f"model '{model}' not found"})
        loading = load(model)
        chat = self.path == "/api/chat"
        field = "message" if chat else "response"
        if (chat and not request.get("messages")) or (not chat and not request.get("prompt")):
            empty = {"role": "assistant", "content": ""} if chat else ""
            return self.send_json(200, {"model": model, "created_at": now(), field: empty, "done_reason": "load", "done": True})
        stream = request.get("stream", True)
        final = {"model": model, "created_at": now(), field: {"role": "assistant", "content": ""} if chat else "",
                 "done": True, "done_reason": "stop", "total_duration": duration(loading + 0.1),
                 "load_duration": duration(loading), "prompt_eval_count": 12, "prompt_eval_duration": duration(0.01),
                 "eval_count": len(ANSWER), "eval_duration": duration(0.09)}
        parts = [{"role": "assistant", "content": text} if chat else text for text in ANSWER]
        if chat and request.get("tools"):
            name = request["tools"][0]["function"]["name"]
            parts = [{"role": "assistant", "content": "",
                      "tool_calls": [{"function": {"name": name, "arguments": {"city": "Paris"}}}]}]
        if not stream:
            whole = dict(final)
            whole[field] = dict(parts[0], content="".join(p["content"] for p in parts)) if chat else "".join(parts)
            return self.send_json(200, whole)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        if PROTOCOL == "HTTP/1.1":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in parts:
            self.write_line({"model": model, "created_at": now(), field: part, "done": False})
            time.sleep(0.01)
        self.write_line(final)
        if PROTOCOL == "HTTP/1.1":
            self.wfile.write(b"0\r\n\r\n")  # a write of its own after the last line, as Go's server sends it
        else:
            self.close_connection = True


ThreadingHTTPServer(("127.0.0.1", PORT), Node).serve_forever()
