#!/usr/bin/env python3
"""The planner's loads that a later load undid: a copy of A loaded in place of B, then within a window
a copy of B loaded in place of A (the copy counts back where they were, at the price of two loads).

Reads a TensorWall log that `placement-bench --log-dir DIR` wrote (DIR/affinity-RATE.log, info
level or more) and prints each such pair in simulated seconds, then how many loads there were.

Usage: Benchmarks/reversed_loads.py LOG [LOG ...] [--time-scale 0.2] [--window 90]
"""

import argparse
import re

STAMP = re.compile(r"\S+T(\d+):(\d+):([\d.]+)Z")
LOAD = re.compile(r"info loading (\S+) on node (\S+) ahead of requests \([^)]*\), unloading (.*)$")


def planner_loads(path, scale):
    """Each planner load that unloaded something, as (simulated seconds, model, node, victims)."""
    start = None
    with open(path) as lines:
        for line in lines:
            stamp = STAMP.match(line)
            if not stamp:
                continue
            at = int(stamp[1]) * 3600 + int(stamp[2]) * 60 + float(stamp[3])
            if start is None:
                start = at
            load = LOAD.search(line)
            if load:
                victims = [v.strip() for v in re.split(r",| and ", load[3]) if v.strip()]
                yield (at - start) / scale, load[1], load[2], victims


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--time-scale", type=float, default=0.2)
    parser.add_argument("--window", type=float, default=90, help="simulated seconds within which a load counts as undone")
    args = parser.parse_args()
    for path in args.logs:
        loads = list(planner_loads(path, args.time_scale))
        reversed_pairs = 0
        for index, (at, model, node, victims) in enumerate(loads):
            for later_at, later_model, later_node, later_victims in loads[index + 1 :]:
                if later_at - at > args.window:
                    break
                if later_model in victims and model in later_victims:
                    reversed_pairs += 1
                    print(f"{path}: {at:.0f} s {model} onto {node} unloading {', '.join(victims)}; "
                          f"{later_at:.0f} s {later_model} onto {later_node} unloading {', '.join(later_victims)}")
        print(f"{path}: {len(loads)} planner loads that unloaded something, {reversed_pairs} undone within {args.window:.0f} s")


if __name__ == "__main__":
    main()
