#!/usr/bin/env python3
"""TensorWall's resident memory under a sustained chat load, with a new conversation in every request
or the same one in all: what the conversation map (which node served each conversation's last turn,
bounded at 100,000) holds once it is full, against a run that adds nothing to it. With `models`, every
request names a new model no node holds (a client's typo, or a hostile one): answered 404, it must
leave nothing behind.

Starts one simulated node and TensorWall from BIN (a release build's bin folder) on free ports, sends
non-streamed chats from 8 clients for SECONDS, and prints the request count and resident memory every
20 s.

Usage: Benchmarks/conversation_memory.py BIN [SECONDS] [new|same|models]
"""

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def resident_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    bin_dir = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 180
    kind = sys.argv[3] if len(sys.argv) > 3 else "new"
    node_port, port = free_port(), free_port()
    node = subprocess.Popen(
        [f"{bin_dir}/ollama-sim", "--port", str(node_port), "--name", "a", "--model", "llama3.2=2.0", "--preload", "llama3.2",
         "--parallel", "16", "--time-scale", "0.001"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"listen": {"host": "127.0.0.1", "port": port}, "apiKeys": [{"name": "default", "key": "gw_memory"}],
               "nodes": [{"name": "a", "url": f"http://127.0.0.1:{node_port}", "maxParallel": 16}]}, config)
    config.close()
    balancer = subprocess.Popen([f"{bin_dir}/tensorwall", "--config", config.name, "--log-level", "warning"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(node_port)
        wait_for(port)
        time.sleep(1)
        stop = time.time() + seconds
        count = [0]

        def client(index):
            connection = http.client.HTTPConnection("127.0.0.1", port)
            sent = 0
            while time.time() < stop:
                sent += 1
                content = "hello" if kind != "new" else f"hello {index} {sent} {random.random()}"
                model = f"missing-{index}-{sent}-{random.random()}" if kind == "models" else "llama3.2"
                body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}]})
                try:
                    connection.request("POST", "/v1/chat/completions", body,
                                       {"X-API-Key": "gw_memory", "Content-Type": "application/json"})
                    connection.getresponse().read()
                    count[0] += 1
                except (OSError, http.client.HTTPException):
                    connection = http.client.HTTPConnection("127.0.0.1", port)

        clients = [threading.Thread(target=client, args=(index,)) for index in range(8)]
        for thread in clients:
            thread.start()
        started = time.time()
        while time.time() < stop:
            print(f"{time.time() - started:5.0f} s  {count[0]:8d} requests  resident {resident_kb(balancer.pid)} kB", flush=True)
            time.sleep(20)
        for thread in clients:
            thread.join()
        print(f"end    {count[0]:8d} requests  resident {resident_kb(balancer.pid)} kB ({kind})", flush=True)
    finally:
        balancer.terminate()
        node.terminate()
        os.unlink(config.name)


if __name__ == "__main__":
    main()
