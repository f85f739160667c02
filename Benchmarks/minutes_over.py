#!/usr/bin/env python3
"""Per minute of a placement-bench run, per model: how many requests' time to first token passed a
threshold, and where each model's requests went.

Reads a TensorWall access log that `placement-bench --log-dir DIR` wrote (DIR/affinity-RATE.log)
and gives the minutes in simulated time, so it says which model and which minute a p95 came from.
A request counts in the minute its log line was written (when it ended), from the first such line.

Usage: Benchmarks/minutes_over.py LOG [--time-scale 0.2] [--threshold 0.39]
Give the run's time scale; the threshold is in simulated seconds (1.5x the all-warm bound's p95
is the issue's target).
"""

import argparse
import collections
import re

LINE = re.compile(r"\S+T(\d+):(\d+):([\d.]+)Z info request key=\S+ model=(\S+) node=(\S+) status=(\d+).*ttft_ms=([\d.]+)")


def requests(path, scale):
    """Each request line of the log as (simulated seconds since the first, model, node, time to first
    token in simulated seconds)."""
    start = None
    with open(path) as lines:
        for line in lines:
            match = LINE.match(line)
            if not match:
                continue
            at = int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
            if start is None:
                start = at - 0.1
            yield (at - start) / scale, match[4], match[5], float(match[7]) / 1000 / scale


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log")
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--threshold", type=float, default=0.39)
    arguments = parser.parse_args()
    scale, threshold = arguments.time_scale, arguments.threshold
    rows = collections.defaultdict(list)
    for since, model, node, ttft in requests(arguments.log, scale):
        rows[(int(since // 60), model)].append((ttft, node))
    if not rows:
        raise SystemExit("no request lines with ttft_ms in " + arguments.log)
    models = sorted({model for _, model in rows})
    for minute in range(max(minute for minute, _ in rows) + 1):
        total = sum(len(rows[(minute, model)]) for model in models)
        over = sum(1 for model in models for ttft, _ in rows[(minute, model)] if ttft > threshold)
        print(f"minute {minute}: {over}/{total} = {100 * over / max(total, 1):.1f} % over {threshold} s")
        for model in models:
            ttfts = sorted(ttft for ttft, _ in rows[(minute, model)])
            if not ttfts:
                continue
            nodes = collections.Counter(node for _, node in rows[(minute, model)])
            print(
                f"  {model:15s} n={len(ttfts):3d} over={sum(1 for t in ttfts if t > threshold):3d} "
                f"p95={ttfts[int(len(ttfts) * 0.95)]:.2f} nodes={dict(sorted(nodes.items()))}"
            )


if __name__ == "__main__":
    main()
