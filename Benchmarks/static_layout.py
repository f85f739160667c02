#!/usr/bin/env python3
"""The best a fixed layout could do on a placement-bench trace, found in hindsight.

Reads a trace written by `placement-bench --dump-trace FILE` (one line per request: simulated
second, model, 1 for a conversation's first turn) and tries every number of warm copies per model
that fits the benchmark's farm (4 nodes of 16 GB, at most 3 models per node, 2 parallel slots per
copy). For each layout it replays the trace through one first-come-first-served queue per model
(the queue belongs to the model, not to a node), with the benchmark's service times, and counts
the requests after warm-up that wait longer than a noticeable 0.33 s for a slot: the requests that
push time to first token past 1.5x the all-warm bound's 0.6 s. It prints the best layouts.

This is a yardstick for the planner, not a possible strategy: it knows the whole trace in advance
and ignores cold loads. A run of `affinity` that waits noticeably on about as few requests is as good
as any fixed layout could have been.

Usage: Benchmarks/static_layout.py TRACE [--warmup 60]
"""

import argparse
import heapq
import itertools

MODELS = ["llama3.2:3b", "phi3:mini", "gemma2:2b", "mistral:7b", "llama3.1:8b", "qwen2.5:7b", "gemma2:9b", "codellama:13b"]
SIZES_GB = [2.0, 2.2, 2.6, 4.1, 4.7, 4.7, 5.4, 7.4]
NODES, VRAM_GB, MAX_LOADED, SLOTS = 4, 16.0, 3, 2
# 64 tokens at 20 tokens/s, plus ~1,000 prompt tokens at 2,000 tokens/s unless Ollama's prompt cache holds them.
ANSWER_SECONDS, FIRST_TURN_PROMPT_SECONDS, FOLLOW_UP_PROMPT_SECONDS = 3.2, 0.51, 0.05
NOTICEABLE_WAIT = 0.33


def read_trace(path):
    requests = []
    with open(path) as lines:
        for line in lines:
            at, model, first = line.split()
            requests.append((float(at), MODELS.index(model), first == "1"))
    return sorted(requests)


def waits(requests, copies):
    free = {model: [0.0] * (copies[model] * SLOTS) for model in range(len(MODELS))}
    for at, model, first in requests:
        slot = heapq.heappop(free[model])
        start = max(at, slot)
        service = (FIRST_TURN_PROMPT_SECONDS if first else FOLLOW_UP_PROMPT_SECONDS) + ANSWER_SECONDS
        heapq.heappush(free[model], start + service)
        yield at, start - at


def fits(copies):
    """Whether the copies pack onto the nodes: distinct models per node, VRAM and the model cap."""
    items = sorted((m for m in range(len(MODELS)) for _ in range(copies[m])), key=lambda m: -SIZES_GB[m])
    nodes = [[] for _ in range(NODES)]

    def place(index):
        if index == len(items):
            return True
        model, tried = items[index], set()
        for node in nodes:
            key = tuple(sorted(node))
            if key in tried or len(node) >= MAX_LOADED or model in node:
                continue
            tried.add(key)
            if sum(SIZES_GB[m] for m in node) + SIZES_GB[model] <= VRAM_GB:
                node.append(model)
                if place(index + 1):
                    return True
                node.pop()
        return False

    return place(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--warmup", type=float, default=60)
    arguments = parser.parse_args()
    requests = read_trace(arguments.trace)
    results = []
    for copies in itertools.product(range(1, 5), range(1, 5), range(1, 4), *[range(1, 3)] * 5):
        if sum(copies) > NODES * MAX_LOADED or not fits(copies):
            continue
        late = [wait for at, wait in waits(requests, copies) if at >= arguments.warmup]
        noticeable = sum(1 for wait in late if wait > NOTICEABLE_WAIT)
        results.append((noticeable / len(late), copies, len(late)))
    results.sort()
    counted = results[0][2]
    print(f"{counted} requests after warm-up; best fixed layouts (copies per model, hottest first):")
    for share, copies, _ in results[:5]:
        print(f"  {list(copies)}: {share * 100:.1f} % wait over {NOTICEABLE_WAIT} s")


if __name__ == "__main__":
    main()
