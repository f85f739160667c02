#!/usr/bin/env python3
"""Soak test: mixed traffic through TensorWall while simulated nodes are killed, hung, made to
answer 500 and to drop streams, then restarted. Besides OpenAI's and Ollama's chat, some requests
speak Anthropic's `/v1/messages` or Ollama's `/api/embed`, and some name a route whose only target
is a cloud endpoint (the last node's own OpenAI API, which the same faults hit), so the cloud tier's
reshaping of answers for Ollama and Anthropic clients is soaked too. Counts every request as succeeded, failed with a
clean error (an error status with a JSON error body, or a stream ending in an in-band error), or
lost (connection error, timeout, malformed or silently truncated answer) — lost must be 0 — and
samples TensorWall's resident memory and open descriptors.

Run by Benchmarks/soak.sh, which builds the binaries. Usage: soak.py BIN_DIR SECONDS
"""

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SECONDS = sys.argv[1], float(sys.argv[2])
MODELS = ["llama3.2", "qwen2.5:7b", "mistral", "phi3"]
CLOUD_ROUTE = "soak-cloud"
CLIENTS = 16
NODES = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, path="/", limit=10):
    end = time.time() + limit
    while time.time() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Node:
    def __init__(self, index):
        self.name = f"gpu{index}"
        self.port = free_port()
        self.process = None
        self.stopped = False

    def start(self):
        args = [f"{BIN}/ollama-sim", "--port", str(self.port), "--name", self.name, "--parallel", "4", "--time-scale", "0.05",
                "--tokens-per-second", "40", "--response-tokens", "20", "--max-loaded", "2"]
        for model in MODELS:
            args += ["--model", f"{model}=2.0"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.stopped = False
        wait_for(self.port)

    def kill(self):
        if self.process and self.process.poll() is None:
            if self.stopped:
                self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()

    def fault(self, name):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("POST", "/_sim/fault", body=json.dumps({"fault": name}))
            c.getresponse().read()
        except OSError:
            pass


def rss_and_fds(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


counts = {"sent": 0, "succeeded": 0, "clean_error": 0, "lost": 0, "abandoned": 0}
lost_examples = []
# Clean errors by what the client saw (status and message) and by the second they came back in, so
# a run with many of them can be read against the faults injected at the time.
clean_error_kinds = {}
clean_errors_per_second = {}
lock = threading.Lock()


def error_message(payload):
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return re.sub(r"[0-9]+(\.[0-9]+)?", "N", str(error))[:90]


def record(kind, detail=None):
    with lock:
        counts[kind] += 1
        if kind == "lost" and len(lost_examples) < 20:
            lost_examples.append(detail)
        if kind == "clean_error":
            clean_error_kinds[detail] = clean_error_kinds.get(detail, 0) + 1
            second = int(time.time())
            clean_errors_per_second[second] = clean_errors_per_second.get(second, 0) + 1


def one_request(port, rng):
    # One request in six names the route only the cloud endpoint serves.
    model = CLOUD_ROUTE if rng.random() < 1 / 6 else rng.choice(MODELS)
    stream = rng.random() < 0.5
    api = rng.choices(["openai", "ollama", "anthropic", "embed"], weights=[6, 3, 1, 1])[0]
    native = api == "ollama"
    if api == "embed":
        stream = False  # Ollama's embeddings never stream
    # One request in ten comes from an impatient client that hangs up after 5-50 ms, often before
    # the node's first byte: TensorWall must free the slot and keep serving everyone else.
    impatient = rng.random() < 0.1
    if native:
        path = "/api/chat"
        body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    elif api == "embed":
        path = "/api/embed"
        body = {"model": model, "input": ["hello", "world"]}
    elif api == "anthropic":
        path = "/v1/messages"
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    else:
        path = "/v1/chat/completions"
        body = {"model": model, "messages": [{"role": "user", "content": "hello"}], "stream": stream}
    with lock:
        counts["sent"] += 1
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=rng.uniform(0.005, 0.05) if impatient else 60)
        c.request("POST", path, body=json.dumps(body), headers={"X-API-Key": "gw_soak", "Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        c.close()
    except socket.timeout:
        if impatient:
            c.close()
            return record("abandoned")
        return record("lost", f"{path} stream={stream}: timed out")
    except Exception as error:  # connection refused, reset, timeout: the balancer lost it
        return record("lost", f"{path} stream={stream}: {type(error).__name__}: {error}")
    if r.status != 200:
        try:
            payload = json.loads(data)
            ok = isinstance(payload.get("error"), (str, dict))
        except ValueError:
            ok = False
        if ok:
            return record("clean_error", f"{r.status} {error_message(payload)}")
        return record("lost", f"{r.status} without a JSON error: {data[:200]}")
    if not stream:
        try:
            payload = json.loads(data)
        except ValueError:
            return record("lost", f"200 with invalid JSON: {data[:200]}")
        if api == "embed":
            whole = len(payload.get("embeddings", [])) == 2
        else:
            whole = "choices" in payload or payload.get("done") or payload.get("type") == "message"
        return record("succeeded" if whole else "lost", data[:200])
    if native:
        lines = [json.loads(line) for line in data.splitlines() if line.strip()]
        if lines and lines[-1].get("done"):
            return record("succeeded")
        if lines and "error" in lines[-1]:
            return record("clean_error", f"in-stream {error_message(lines[-1])}")
        return record("lost", f"native stream ended without done or error: {data[-200:]}")
    if api == "anthropic":
        # Each event is `event: NAME` then `data: {...}`; the stream ends with message_stop or an error event.
        payloads = [json.loads(line[6:]) for line in data.split("\n") if line.startswith("data: ")]
        if payloads and payloads[-1].get("type") == "message_stop":
            return record("succeeded")
        if payloads and payloads[-1].get("type") == "error":
            return record("clean_error", f"in-stream {error_message(payloads[-1])}")
        return record("lost", f"Anthropic stream ended without message_stop or error: {data[-200:]}")
    events = [e[6:] for e in data.split("\n\n") if e.startswith("data: ")]
    if events and events[-1] == "[DONE]":
        return record("succeeded")
    if events and "error" in json.loads(events[-1]):
        return record("clean_error", f"in-stream {error_message(json.loads(events[-1]))}")
    return record("lost", f"SSE ended without [DONE] or error: {data[-200:]}")


def client(port, end, seed):
    rng = random.Random(seed)
    while time.time() < end:
        one_request(port, rng)


def chaos(nodes, end, rng, log):
    while time.time() < end:
        time.sleep(rng.uniform(1.0, 3.0))
        node = rng.choice(nodes)
        action = rng.choice(["kill", "hang", "error500", "dropMidStream", "busy503", "sigstop"])
        log.append(f"{time.time():.1f} {node.name} {action}")
        if action == "kill":
            node.kill()
            time.sleep(rng.uniform(1, 3))
            node.start()
        elif action == "sigstop":
            node.process.send_signal(signal.SIGSTOP)
            node.stopped = True
            time.sleep(rng.uniform(1, 4))
            node.process.send_signal(signal.SIGCONT)
            node.stopped = False
        else:
            node.fault(action)
            time.sleep(rng.uniform(1, 3))
            node.fault("none")


def main():
    nodes = [Node(i) for i in range(NODES)]
    for node in nodes:
        node.start()
    port = free_port()
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "apiKeys": [{"name": "soak", "key": "gw_soak"}],
        "health": {"intervalMs": 500, "timeoutMs": 500, "unhealthyAfter": 2, "healthyAfter": 1},
        "timeouts": {"connectMs": 1000, "firstByteMs": 5000, "idleMs": 3000},
        "outlier": {"consecutiveFailures": 3, "baseEjectionMs": 3000, "maxEjectionMs": 15000},
        "nodes": [{"name": n.name, "url": f"http://127.0.0.1:{n.port}", "maxParallel": 4, "maxLoadedModels": 2} for n in nodes],
        # The last node's OpenAI API doubles as a cloud endpoint (plain HTTP, no key).
        "cloud": [{"name": "sim", "url": f"http://127.0.0.1:{nodes[-1].port}/v1", "models": [], "weight": 100, "priority": 1}],
        "routes": {CLOUD_ROUTE: [{"target": "sim/phi3", "weight": 100, "priority": 0}]},
    }
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "cluster.json")
    with open(path, "w") as f:
        json.dump(config, f)
    log_file = open(os.path.join(directory, "tensorwall.log"), "w")
    balancer = subprocess.Popen([f"{BIN}/tensorwall", "--config", path, "--log-level", "warning"], stdout=log_file, stderr=log_file)
    if not wait_for(port, "/healthz"):
        sys.exit("tensorwall did not start")
    time.sleep(1.5)  # first probe round
    rss_start, fds_start = rss_and_fds(balancer.pid)

    start = time.time()
    end = start + SECONDS
    events = []
    threads = [threading.Thread(target=client, args=(port, end, seed)) for seed in range(CLIENTS)]
    threads.append(threading.Thread(target=chaos, args=(nodes, end, random.Random(7), events)))
    samples = []
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        if balancer.poll() is None:
            samples.append(rss_and_fds(balancer.pid))
    for thread in threads:
        thread.join()
    for node in nodes:
        node.fault("none")
    time.sleep(3)  # idle: keep-alive connections to clients are gone, pools settle
    crashed = balancer.poll() is not None
    rss_end, fds_end = (0, 0) if crashed else rss_and_fds(balancer.pid)
    balancer.send_signal(signal.SIGTERM)
    exit_status = balancer.wait(timeout=40)
    for node in nodes:
        node.kill()

    print(f"soak: {SECONDS:.0f} s, {CLIENTS} clients, {NODES} nodes, {len(events)} faults injected "
          f"(kill/restart, SIGSTOP, hang, 500, busy 503, dropped streams)")
    print("| requests sent | succeeded | failed with a clean error | client hung up first | lost |")
    print("|---|---|---|---|---|")
    print(f"| {counts['sent']} | {counts['succeeded']} | {counts['clean_error']} | {counts['abandoned']} | {counts['lost']} |")
    print()
    print("| tensorwall | start | end | peak during the run |")
    print("|---|---|---|---|")
    print(f"| resident memory (kB) | {rss_start} | {rss_end} | {max([s[0] for s in samples] or [0])} |")
    print(f"| open descriptors | {fds_start} | {fds_end} | {max([s[1] for s in samples] or [0])} |")
    print(f"\nexit status after SIGTERM: {exit_status}; crashed during the run: {crashed}")
    for example in lost_examples:
        print("lost:", example)
    if counts["clean_error"]:
        print("\nclean errors by what the client saw:")
        for kind, count in sorted(clean_error_kinds.items(), key=lambda item: -item[1])[:12]:
            print(f"  {count:6d}  {kind}")
        print("seconds with the most clean errors, and the faults injected in the 15 s before their end:")
        for second, count in sorted(clean_errors_per_second.items(), key=lambda item: -item[1])[:5]:
            faults = [e for e in events if second - 15 <= float(e.split()[0]) < second + 1]
            print(f"  {second - int(start):4d} s: {count:5d} errors; faults: {', '.join(f[f.index(' ') + 1:] for f in faults) or 'none'}")
        print("faults injected (seconds into the run):", ", ".join(
            f"{float(e.split()[0]) - start:.1f} {e.split(None, 1)[1]}" for e in events))
    ok = counts["lost"] == 0 and not crashed and exit_status == 0
    sys.exit(0 if ok else 1)


main()
