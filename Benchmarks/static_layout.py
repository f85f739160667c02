#!/usr/bin/env python3
"""The best a fixed layout could do on a placement-bench trace, found in hindsight.

Reads a trace written by `placement-bench --dump-trace FILE` (one line per request: simulated
second, model, 1 for a conversation's first turn, and with `--answer-lengths varied` the answer's
tokens) and tries every number of warm copies per model
that fits the benchmark's farm (4 nodes of 16 GB, at most 3 models per node, 2 parallel slots per
copy). For each layout it replays the trace through one first-come-first-served queue per model
(the queue belongs to the model, not to a node), with the benchmark's service times, and counts
the requests after warm-up that wait noticeably for a slot: longer than half the all-warm bound's
time to first token, so that they push it past 1.5x the bound. It prints the best layouts.

This is a yardstick for the planner, not a possible strategy: it knows the whole trace in advance
and ignores cold loads. A run of `affinity` that waits noticeably on about as few requests is as good
as any fixed layout could have been.

Usage: Benchmarks/static_layout.py TRACE [--warmup 60] [--until SECONDS] [--tokens-per-second 20]
                                   [--prompt-tokens-per-second 2000] [--share-of-free 0.8]
                                   [--runner-overhead-gb 1]
Give the same speeds as the placement-bench run that wrote the trace. `--warmup` and `--until` bound
the requests counted (say 300 and 360 for the third minute after a shift at 180 s); the queues run
from the start either way. `--share-of-free 0.8` packs as Ollama's scheduler does (a load beside
other models must fit in 80 % of the free VRAM, the largest loaded first); by default the sum fits.
Give `--runner-overhead-gb` as the run did: each loaded copy takes that much beyond its weights.
"""

import argparse
import heapq
import itertools

MODELS = ["llama3.2:3b", "phi3:mini", "gemma2:2b", "mistral:7b", "llama3.1:8b", "qwen2.5:7b", "gemma2:9b", "codellama:13b"]
SIZES_GB = [2.0, 2.2, 2.6, 4.1, 4.7, 4.7, 5.4, 7.4]
NODES, VRAM_GB, MAX_LOADED, SLOTS = 4, 16.0, 3, 2
ANSWER_TOKENS, FIRST_TURN_PROMPT_TOKENS, FOLLOW_UP_PROMPT_TOKENS = 64, 1020, 100
# What a request costs besides its prompt in the all-warm bound (the proxy, the first token).
BOUND_OVERHEAD_SECONDS = 0.05


def read_trace(path):
    requests = []
    with open(path) as lines:
        for line in lines:
            # A fourth column, written with `--answer-lengths varied`, gives the answer's tokens.
            at, model, first, *tokens = line.split()
            answer = int(tokens[0]) if tokens else ANSWER_TOKENS
            requests.append((float(at), MODELS.index(model), first == "1", answer))
    return sorted(requests)


def waits(requests, copies, speeds):
    tokens_per_second, prompt_tokens_per_second = speeds
    free = {model: [0.0] * (copies[model] * SLOTS) for model in range(len(MODELS))}
    for at, model, first, answer_tokens in requests:
        slot = heapq.heappop(free[model])
        start = max(at, slot)
        prompt = FIRST_TURN_PROMPT_TOKENS if first else FOLLOW_UP_PROMPT_TOKENS
        service = prompt / prompt_tokens_per_second + answer_tokens / tokens_per_second
        heapq.heappush(free[model], start + service)
        yield at, start - at


def fits(copies, share_of_free=None, overhead_gb=0.0):
    """Whether the copies pack onto the nodes: distinct models per node, VRAM and the model cap.
    Largest first, the order in which Ollama's 80 % rule admits the most. Each loaded copy takes
    `overhead_gb` beyond its weights, as a runner's KV cache and graph do."""

    def size(model):
        return SIZES_GB[model] + overhead_gb

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
            used = sum(size(m) for m in node)
            room = VRAM_GB - used if share_of_free is None or not node else share_of_free * (VRAM_GB - used)
            if size(model) <= room:
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
    parser.add_argument("--until", type=float, default=float("inf"))
    parser.add_argument("--share-of-free", type=float, default=None)
    parser.add_argument("--runner-overhead-gb", type=float, default=0.0)
    parser.add_argument("--tokens-per-second", type=float, default=20)
    parser.add_argument("--prompt-tokens-per-second", type=float, default=2000)
    arguments = parser.parse_args()
    requests = read_trace(arguments.trace)
    speeds = (arguments.tokens_per_second, arguments.prompt_tokens_per_second)
    # The bound's first token: a first turn's whole prompt, then the first generated token.
    bound = FIRST_TURN_PROMPT_TOKENS / speeds[1] + 1 / speeds[0] + BOUND_OVERHEAD_SECONDS
    noticeable_wait = bound / 2
    results = []
    # Up to one copy per node for every model: after a shift the hottest model is the largest.
    for copies in itertools.product(*[range(1, NODES + 1)] * len(MODELS)):
        if sum(copies) > NODES * MAX_LOADED or not fits(copies, arguments.share_of_free, arguments.runner_overhead_gb):
            continue
        late = [wait for at, wait in waits(requests, copies, speeds) if arguments.warmup <= at < arguments.until]
        noticeable = sum(1 for wait in late if wait > noticeable_wait)
        results.append((noticeable / len(late), copies, len(late)))
    results.sort()
    counted = results[0][2]
    print(f"{counted} requests after warm-up; best fixed layouts (copies per model, hottest first):")
    for share, copies, _ in results[:5]:
        print(f"  {list(copies)}: {share * 100:.1f} % wait over {noticeable_wait:.2f} s")


if __name__ == "__main__":
    main()
