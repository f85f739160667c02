#!/usr/bin/env python3
"""An Ollama node with Ollama's scheduler, written in Python from ../shared/ollama-api.md section 9
(server/sched.go), not from TensorWall's simulator, for placement runs on a farm TensorWall's own
code did not shape (Benchmarks/python_farm.sh).

What it models, as sched.go does:
- A loaded model's requests attach at once (the fast path) and wait FIFO for one of its
  `--num-parallel` slots; the slot picked is the free one whose last prompt shares the longest
  prefix with the new one (the prompt cache), and only the rest of the prompt is evaluated.
- Every other request goes to one pending queue that one scheduler thread works through in order:
  loads are serialised, and every request that needs scheduling waits behind the current load or
  eviction. A request for a model being loaded waits for that load and shares it.
- Room: past `--max-loaded` models, or when other models are loaded and the new one needs more
  than 80 % of the free VRAM, one model is evicted: runners sorted by keep-alive duration, then by
  digest (not LRU); the first idle one, else the first busy one, which the queue then waits for.
  After an unload the scheduler waits 0.5 s for the VRAM to be reported free.
- keep_alive: each request sets its runner's duration (default 5m, negative forever); an idle
  runner unloads when it expires, at once for 0. `/api/generate` with an empty prompt loads
  (done_reason "load"), and with keep_alive 0 unloads (done_reason "unload") without scheduling.
- Durations are reported in real nanoseconds, and expires_at in real time, as Ollama's are; with
  `--time-scale S` every simulated second takes S real seconds.

It serves /, /api/version, /api/tags, /api/ps, /api/show, /api/chat and /api/generate, and
GET /bench/loads (not Ollama's: how many loads and evictions it did, for the benchmark).

Usage: python_farm_node.py PORT [--vram-gb 16] [--max-loaded 3] [--num-parallel 2]
       [--tokens-per-second 60] [--prompt-tokens-per-second 5000] [--load-seconds-per-gb 1.5]
       [--time-scale 1] [--preload]
"""
import argparse
import collections
import datetime
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
parser.add_argument("--vram-gb", type=float, default=16)
parser.add_argument("--max-loaded", type=int, default=3)
parser.add_argument("--num-parallel", type=int, default=2)
parser.add_argument("--tokens-per-second", type=float, default=60)
parser.add_argument("--prompt-tokens-per-second", type=float, default=5000)
parser.add_argument("--load-seconds-per-gb", type=float, default=1.5)
parser.add_argument("--time-scale", type=float, default=1.0)
parser.add_argument("--preload", action="store_true", help="load every model before serving")
ARGS = parser.parse_args()

# The placement benchmark's eight models (Benchmarks/PlacementBenchmark/Trace.swift), GB each.
MODELS = {"llama3.2:3b": 2.0, "phi3:mini": 2.2, "gemma2:2b": 2.6, "mistral:7b": 4.1, "llama3.1:8b": 4.7,
          "qwen2.5:7b": 4.7, "gemma2:9b": 5.4, "codellama:13b": 7.4}
DEFAULT_KEEP_ALIVE = 300.0
ANSWER_TOKENS = 64
SCALE = ARGS.time_scale


def digest(name):
    return hashlib.sha256(name.encode()).hexdigest()


def real_sleep_for(simulated):
    time.sleep(max(0.0, simulated) * SCALE)


def clock():
    """Simulated seconds."""
    return time.monotonic() / SCALE


def timestamp(after_real_seconds=0.0):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=after_real_seconds)
    return moment.isoformat().replace("+00:00", "Z")


def keep_alive_seconds(value):
    """Simulated seconds from a request's keep_alive (a number of seconds or a Go duration); None: not sent."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return -1.0 if value < 0 else float(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return -1.0 if float(text) < 0 else float(text)
    total = 0.0
    for number, unit in re.findall(r"(-?\d+(?:\.\d+)?)(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return -1.0 if text.startswith("-") else total


class Runner:
    def __init__(self, model):
        self.model = model
        self.size = MODELS[model]
        self.references = 0
        self.duration = DEFAULT_KEEP_ALIVE
        self.expires_at = None  # simulated time an idle runner unloads
        self.busy = [False] * ARGS.num_parallel
        self.prompts = [""] * ARGS.num_parallel
        self.waiting = collections.deque()


class Pending:
    def __init__(self, model, keep_alive):
        self.model = model
        self.keep_alive = keep_alive
        self.runner = None
        self.ready = threading.Event()


lock = threading.Condition()
loaded = {}  # model -> Runner
pending = collections.deque()
counts = {"loads": 0, "evictions": 0, "unloads_asked": 0, "expired": 0}


def attach(runner, keep_alive):
    runner.references += 1
    runner.expires_at = None
    if keep_alive is not None:
        runner.duration = keep_alive


def release(runner):
    with lock:
        runner.references -= 1
        if runner.references == 0:
            if runner.duration == 0:
                unload(runner)
            elif runner.duration > 0:
                runner.expires_at = clock() + runner.duration
        lock.notify_all()


def unload(runner):
    if loaded.get(runner.model) is runner:
        del loaded[runner.model]
        lock.notify_all()


def free_vram():
    return ARGS.vram_gb - sum(r.size for r in loaded.values())


def victim():
    order = sorted(loaded.values(), key=lambda r: (r.duration if r.duration >= 0 else float("inf"), digest(r.model)))
    idle = [r for r in order if r.references == 0]
    return idle[0] if idle else order[0]


def get_runner(model, keep_alive):
    """The model's runner with a reference taken: at once when loaded, else through the pending queue."""
    with lock:
        runner = loaded.get(model)
        if runner is not None:
            attach(runner, keep_alive)
            return runner
        request = Pending(model, keep_alive)
        pending.append(request)
        lock.notify_all()
    request.ready.wait()
    return request.runner


def schedule_forever():
    while True:
        with lock:
            now = clock()
            for runner in list(loaded.values()):
                if runner.references == 0 and runner.expires_at is not None and runner.expires_at <= now:
                    counts["expired"] += 1
                    unload(runner)
            if not pending:
                lock.wait(timeout=0.05)
                continue
            request = pending[0]
            runner = loaded.get(request.model)
            if runner is not None:
                attach(runner, request.keep_alive)
                pending.popleft()
                request.runner = runner
                request.ready.set()
                continue
            size = MODELS[request.model]
            needs_room = len(loaded) >= ARGS.max_loaded or (loaded and size > 0.8 * free_vram())
            target = victim() if needs_room else None
            if target is not None:
                target.duration = 0  # it unloads once its requests finish; the queue waits for that
                while loaded.get(target.model) is target and target.references > 0:
                    lock.wait()
                counts["evictions"] += 1
                unload(target)
        if target is not None:
            real_sleep_for(0.5)  # waiting for the VRAM to be reported free
            continue
        real_sleep_for(1 + ARGS.load_seconds_per_gb * size)
        with lock:
            counts["loads"] += 1
            runner = Runner(request.model)
            loaded[request.model] = runner
            # The request at the head, then every later one for the same model, shares this load.
            for waiting in [p for p in pending if p.model == request.model]:
                pending.remove(waiting)
                attach(runner, waiting.keep_alive)
                waiting.runner = runner
                waiting.ready.set()


def common_prefix(a, b):
    limit = min(len(a), len(b))
    index = 0
    while index < limit and a[index] == b[index]:
        index += 1
    return index


def acquire_slot(runner, prompt):
    """A slot, FIFO; returns its index and how many characters of the prompt it had cached."""
    with lock:
        ticket = object()
        runner.waiting.append(ticket)
        while runner.waiting[0] is not ticket or all(runner.busy):
            lock.wait()
        runner.waiting.popleft()
        free = [i for i, busy in enumerate(runner.busy) if not busy]
        slot = max(free, key=lambda i: common_prefix(runner.prompts[i], prompt))
        cached = common_prefix(runner.prompts[slot], prompt)
        runner.busy[slot] = True
        runner.prompts[slot] = prompt
        lock.notify_all()
        return slot, cached


def release_slot(runner, slot):
    with lock:
        runner.busy[slot] = False
        lock.notify_all()


def tags_entry(name):
    return {"name": name, "model": name, "modified_at": timestamp(), "size": int(MODELS[name] * 1e9), "digest": digest(name),
            "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                        "parameter_size": "7B", "quantization_level": "Q4_K_M"}}


def not_found(model):
    return {"error": f'model "{model}" not found, try pulling it first'}


class Node(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, content_type, body, head_only=False):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def send_json(self, status, value):
        self.send_body(status, "application/json; charset=utf-8", json.dumps(value).encode())

    def do_HEAD(self):
        self.send_body(200, "text/plain; charset=utf-8", b"Ollama is running", head_only=True)

    def do_GET(self):
        if self.path == "/":
            self.send_body(200, "text/plain; charset=utf-8", b"Ollama is running")
        elif self.path == "/api/version":
            self.send_json(200, {"version": "0.12.6"})
        elif self.path == "/api/tags":
            self.send_json(200, {"models": [tags_entry(name) for name in MODELS]})
        elif self.path == "/api/ps":
            with lock:
                now = clock()
                running = []
                for runner in loaded.values():
                    item = tags_entry(runner.model)
                    del item["modified_at"]
                    if runner.duration < 0:
                        expires = "2318-03-14T12:00:00Z"
                    elif runner.expires_at is None:
                        expires = timestamp(runner.duration * SCALE)
                    else:
                        expires = timestamp((runner.expires_at - now) * SCALE)
                    item.update(expires_at=expires, size_vram=item["size"], context_length=4096)
                    running.append(item)
            self.send_json(200, {"models": running})
        elif self.path == "/bench/loads":
            with lock:
                self.send_json(200, dict(counts, loaded=sorted(loaded)))
        else:
            self.send_error_page()

    def send_error_page(self):
        self.send_body(404, "text/plain", b"404 page not found")

    def chunk(self, value):
        line = (json.dumps(value) + "\n").encode()
        self.wfile.write(b"%x\r\n" % len(line) + line + b"\r\n")
        self.wfile.flush()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "invalid character in request body"})
        if self.path not in ("/api/chat", "/api/generate", "/api/show"):
            return self.send_error_page()
        model = request.get("model") or request.get("name") or ""
        if ":" not in model and model:
            model += ":latest"
        if model not in MODELS:
            return self.send_json(404, not_found(model))
        if self.path == "/api/show":
            return self.send_json(200, {"modelfile": "", "parameters": "", "template": "", "details": tags_entry(model)["details"],
                                        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
                                        "capabilities": ["completion", "tools"]})
        keep_alive = keep_alive_seconds(request.get("keep_alive"))
        chat = self.path == "/api/chat"
        field = "message" if chat else "response"
        empty = {"role": "assistant", "content": ""} if chat else ""
        if not chat and not request.get("prompt") and keep_alive == 0:
            with lock:
                counts["unloads_asked"] += 1
                runner = loaded.get(model)
                if runner is not None:
                    runner.duration = 0
                    if runner.references == 0:
                        unload(runner)
            return self.send_json(200, {"model": model, "created_at": timestamp(), field: empty, "done_reason": "unload", "done": True})
        started = time.monotonic()
        runner = get_runner(model, keep_alive)
        try:
            load_real = time.monotonic() - started
            if (chat and not request.get("messages")) or (not chat and not request.get("prompt")):
                return self.send_json(200, {"model": model, "created_at": timestamp(), field: empty, "done_reason": "load", "done": True})
            self.answer(request, runner, chat, field, started, load_real)
        finally:
            release(runner)

    def answer(self, request, runner, chat, field, started, load_real):
        prompt = "".join(f"<{m.get('role')}>{m.get('content')}" for m in request["messages"]) if chat else request["prompt"]
        limit = (request.get("options") or {}).get("num_predict")
        tokens = limit if isinstance(limit, int) and limit > 0 else ANSWER_TOKENS
        slot, cached = acquire_slot(runner, prompt)
        try:
            prompt_tokens = max(1, len(prompt) // 4)
            evaluated = max(1, (len(prompt) - cached) // 4)
            prompt_started = time.monotonic()
            real_sleep_for(evaluated / ARGS.prompt_tokens_per_second)
            prompt_real = time.monotonic() - prompt_started
            stream = request.get("stream", True)
            if stream:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
            generation_started = time.monotonic()
            text = []
            for index in range(tokens):
                # Each token when it is due, not after a sleep each: sleeps overshoot and would add up.
                due = generation_started + (index + 1) / ARGS.tokens_per_second * SCALE
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                piece = " word" if index else "Word"
                text.append(piece)
                if stream:
                    self.chunk({"model": runner.model, "created_at": timestamp(),
                                field: {"role": "assistant", "content": piece} if chat else piece, "done": False})
            eval_real = time.monotonic() - generation_started
            final = {"model": runner.model, "created_at": timestamp(),
                     field: {"role": "assistant", "content": ""} if chat else "", "done": True,
                     "done_reason": "length" if limit else "stop",
                     "total_duration": int((time.monotonic() - started) * 1e9), "load_duration": int(load_real * 1e9),
                     "prompt_eval_count": prompt_tokens, "prompt_eval_duration": int(prompt_real * 1e9),
                     "eval_count": tokens, "eval_duration": int(eval_real * 1e9)}
            if stream:
                self.chunk(final)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            else:
                final[field] = {"role": "assistant", "content": "".join(text)} if chat else "".join(text)
                self.send_json(200, final)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            release_slot(runner, slot)


def preload():
    for model in MODELS:
        runner = Runner(model)
        runner.duration = -1
        loaded[model] = runner


if ARGS.preload:
    preload()
threading.Thread(target=schedule_forever, daemon=True).start()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
ThreadingHTTPServer(("127.0.0.1", ARGS.port), Node).serve_forever()
