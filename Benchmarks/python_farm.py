#!/usr/bin/env python3
"""Open-loop chat traffic for a farm of Python-written Ollama nodes (python_farm_node.py) behind
TensorWall, drawn here and not by placement-bench: conversations arrive as a Poisson process, each
on one of eight models with Zipf popularity (turned over halfway with --shift); 30 % of answered
turns are followed by another 8-20 s later; each conversation opens with a ~1,000-token system
prompt. Every request is a streamed /v1/chat/completions; its time to the first content token is
measured in simulated seconds (real seconds / --time-scale).

Prints one row: p50/p95/p99 TTFT after the warm-up and p95 in the first minute, the worst minute
after the warm-up, requests refused (any status but 200) and failed (no answer), and per-minute p95.

Usage: python_farm.py URL RATE [--seconds 240] [--warmup 60] [--time-scale 0.5] [--seed 42]
       [--zipf 1.1] [--shift] [--key gw_bench] [--label NAME]
"""
import argparse
import http.client
import json
import math
import random
import threading
import time
import urllib.parse

MODELS = ["llama3.2:3b", "phi3:mini", "gemma2:2b", "mistral:7b", "llama3.1:8b", "qwen2.5:7b", "gemma2:9b", "codellama:13b"]
ANSWER = "Word" + " word" * 63

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("rate", type=float, help="requests per simulated second")
parser.add_argument("--seconds", type=float, default=240)
parser.add_argument("--warmup", type=float, default=60)
parser.add_argument("--time-scale", type=float, default=0.5)
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--zipf", type=float, default=1.1)
parser.add_argument("--follow-up", type=float, default=0.3)
parser.add_argument("--shift", action="store_true")
parser.add_argument("--key", default="gw_bench")
parser.add_argument("--label", default="")
ARGS = parser.parse_args()


def trace():
    draw = random.Random(ARGS.seed)
    weights = [1 / (rank ** ARGS.zipf) for rank in range(1, len(MODELS) + 1)]
    requests = []
    moment, conversation = 0.0, 0
    while True:
        moment += draw.expovariate(ARGS.rate * (1 - ARGS.follow_up))
        if moment >= ARGS.seconds:
            break
        conversation += 1
        ranking = list(reversed(MODELS)) if ARGS.shift and moment >= ARGS.seconds / 2 else MODELS
        model = draw.choices(ranking, weights)[0]
        system = f"You are assistant {conversation}. " + "Answer carefully and cite sources. " * 115
        messages = [{"role": "system", "content": system}]
        at, turn = moment, 0
        while True:
            turn += 1
            messages.append({"role": "user", "content": f"Question {turn} of conversation {conversation}"})
            requests.append((at, model, json.dumps({"model": model, "stream": True, "messages": messages})))
            messages = messages + [{"role": "assistant", "content": ANSWER}]
            at += 8 + draw.random() * 12
            if draw.random() >= ARGS.follow_up or at >= ARGS.seconds:
                break
    return sorted(requests)


def send(target, body, result):
    started = time.monotonic()
    try:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        connection.request("POST", "/v1/chat/completions", body,
                           {"Content-Type": "application/json", "Authorization": f"Bearer {ARGS.key}"})
        response = connection.getresponse()
        result["status"] = response.status
        if response.status != 200:
            response.read()
            result["retry_after"] = response.getheader("Retry-After")
            result["answered_in"] = (time.monotonic() - started) / ARGS.time_scale
            return
        for raw in response:
            line = raw.strip()
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"][0].get("delta", {})
            if delta.get("content") and "ttft" not in result:
                result["ttft"] = (time.monotonic() - started) / ARGS.time_scale
        connection.close()
    except Exception as error:  # a failure is counted, not raised
        result["error"] = repr(error)


def percentile(values, share):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def main():
    target = urllib.parse.urlsplit(ARGS.url)
    requests = trace()
    results = [{"at": at, "model": model} for at, model, _ in requests]
    threads = []
    start = time.monotonic()
    for (at, _, body), result in zip(requests, results):
        delay = start + at * ARGS.time_scale - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=send, args=(target, body, result), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=900)
    answered = [r for r in results if "ttft" in r]
    after = [r["ttft"] for r in answered if r["at"] >= ARGS.warmup]
    first = [r["ttft"] for r in answered if r["at"] < 60]
    refused = [r for r in results if r.get("status", 200) != 200]
    failed = [r for r in results if (r.get("status") == 200 and "ttft" not in r) or "error" in r]
    minutes = []
    for minute in range(int(math.ceil(ARGS.seconds / 60))):
        window = [r["ttft"] for r in answered if minute * 60 <= r["at"] < (minute + 1) * 60]
        minutes.append(percentile(window, 0.95))
    worst = max(minutes[int(ARGS.warmup // 60):] or [float("nan")])
    slow_refusals = sum(1 for r in refused if r.get("answered_in", 0) > 1)
    print(f"| {ARGS.label} | {ARGS.rate:.2f} | {len(results)} | {percentile(after, 0.5):.2f} | {percentile(after, 0.95):.2f} | "
          f"{percentile(after, 0.99):.2f} | {percentile(first, 0.95):.2f} | {worst:.2f} | {len(refused)} ({slow_refusals} after 1 s) | "
          f"{len(failed)} | {' '.join(f'{m:.2f}' for m in minutes)} |", flush=True)
    for r in failed[:3]:
        print("  failed:", r, flush=True)


main()
