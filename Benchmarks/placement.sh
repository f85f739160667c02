#!/usr/bin/env bash
# Placement under load: every strategy on the same seeded trace over a simulated farm (4 nodes x 16 GB,
# 3 models loaded at most per node, 2 parallel slots, 8 models of 2-7.4 GB with Zipf popularity, 30 %
# follow-up turns), swept over offered load from 25 % to 125 % of the farm's capacity, plus an
# all-warm lower bound. Prints a Markdown table; about a minute per row here.
# Usage: Benchmarks/placement.sh [--loads 0.25,0.5,0.75,1,1.25] [--seconds 300] [--time-scale 0.2]
#        [--zipf 1.1] [--order small-first|large-first] [--shift] [--only round_robin,least_busy,affinity,bound] [--seed 42]
#        [--answer-lengths fixed|varied] (placement-bench --help lists every flag)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product tensorwall >/dev/null
swift build -c release --product placement-bench >/dev/null
exec "$(swift build -c release --show-bin-path)/placement-bench" "$@"
