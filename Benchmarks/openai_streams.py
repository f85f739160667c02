#!/usr/bin/env python3
"""Streams chat completions through TensorWall with the official `openai` package from many
threads, reading each to its end as an application does (the package closes its connection at
`data: [DONE]`), and prints how each ended.

Usage: openai_streams.py BASE_URL KEY [REQUESTS] [THREADS]
"""
import collections
import concurrent.futures
import sys

import openai

base, key = sys.argv[1], sys.argv[2]
requests = int(sys.argv[3]) if len(sys.argv) > 3 else 600
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 40
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=60)
models = ["llama3.2:3b", "qwen2.5:7b", "gemma2:2b", "mistral:7b"]


def one(index):
    model = models[index % 4] if index % 3 else models[0]
    try:
        stream = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"hi {index}"}], stream=True)
        text = "".join((chunk.choices[0].delta.content or "") for chunk in stream if chunk.choices)
        return "whole answer" if text.endswith("done") else "short answer"
    except Exception as error:  # counted by kind
        return type(error).__name__


with concurrent.futures.ThreadPoolExecutor(threads) as pool:
    outcomes = collections.Counter(pool.map(one, range(requests)))
print(", ".join(f"{count} {outcome}" for outcome, count in outcomes.most_common()))
