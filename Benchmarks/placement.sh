#!/usr/bin/env bash
# Trace-driven placement benchmark: every strategy on the same seeded trace over a simulated farm
# (4 nodes, 14 GB VRAM and 3 models each, 8 models of 2-9 GB with Zipf popularity, multi-turn
# conversations), plus an all-warm lower bound. Prints a Markdown table; about four minutes here.
# Usage: Benchmarks/placement.sh [--seconds 900] [--time-scale 0.03] [--seed 42] [--only affinity] [--show-slowest N]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product tensorwall >/dev/null
swift build -c release --product placement-bench >/dev/null
exec "$(swift build -c release --show-bin-path)/placement-bench" "$@"
