#!/usr/bin/env python3
"""How a placement-bench run's requests waited after warm-up: the mean time to first token, the share
over a second, and p50 / p90 / p95, from the access log `placement-bench --log-dir DIR` wrote
(DIR/affinity-RATE.log). The p95 alone hides how many requests waited when over 5 % of them must.

Usage: Benchmarks/wait_summary.py LOG [LOG ...] [--time-scale 0.2] [--warmup 60] [--over 1]
Times are in simulated seconds; requests count from the first minute's end (`--warmup`), by when
their log line was written, as `minutes_over.py` counts them.
"""

import argparse

from minutes_over import requests


def summary(path, scale, warmup, over):
    waits = [ttft for since, _, _, ttft in requests(path, scale) if since >= warmup]
    if not waits:
        raise SystemExit("no request lines with ttft_ms after the warm-up in " + path)
    waits.sort()
    count = len(waits)

    def at(share):
        return waits[min(count - 1, int(count * share))]

    return (
        f"{path}: {count} requests, mean {sum(waits) / count:.2f} s, "
        f"{100 * sum(1 for wait in waits if wait > over) / count:.0f} % over {over:g} s, "
        f"p50 {at(0.5):.2f} p90 {at(0.9):.2f} p95 {at(0.95):.2f} s"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--warmup", type=float, default=60)
    parser.add_argument("--over", type=float, default=1)
    arguments = parser.parse_args()
    for path in arguments.logs:
        print(summary(path, arguments.time_scale, arguments.warmup, arguments.over))


if __name__ == "__main__":
    main()
