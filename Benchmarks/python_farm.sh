#!/usr/bin/env bash
# Placement on a farm TensorWall's own code did not shape: four Ollama nodes written in Python from
# Ollama's scheduler (Benchmarks/python_farm_node.py: 16 GB, 3 models loaded at most, 2 slots, loads
# serialised, evictions by keep-alive then digest, not LRU) and traffic drawn by
# Benchmarks/python_farm.py, not by placement-bench. Each strategy starts on a cold farm; `bound`
# is the all-warm bound (every model loaded on every node from the start). Loads are shares of the
# farm's token capacity (4 nodes x 2 slots x 60 tokens/s / 64 tokens = 7.5 requests/s).
# Usage: Benchmarks/python_farm.sh [LOADS] [STRATEGIES] [python_farm.py flags...]
#   e.g. Benchmarks/python_farm.sh 0.5,0.75 bound,affinity,least_busy --seconds 240 --time-scale 0.5
# (TENSORWALL_BIN=DIR runs the tensorwall in DIR instead of building one; KEEP_LOGS=DIR keeps its logs
# there; LOG_LEVEL=debug logs its placement decisions.)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/common.sh
if [ -n "${TENSORWALL_BIN:-}" ]; then BIN=$TENSORWALL_BIN; else build_release tensorwall; fi
loads=${1:-0.5,0.75}; strategies=${2:-bound,affinity,least_busy,round_robin}
shift 2 || shift $#
scale=0.5
for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--time-scale" ] && { j=$((i + 1)); scale=${!j}; }; done
work=$(mktemp -d)
pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT
echo "| strategy | requests/s | requests | p50 after warm-up | p95 | p99 | first-minute p95 | worst minute p95 | refused | failed | p95 per minute | loads | evictions the nodes chose | unloads asked |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for load in ${loads//,/ }; do
    rate=$(python3 -c "print($load * 4 * 2 * 60 / 64)")
    for strategy in ${strategies//,/ }; do
        nodes=()
        for index in 0 1 2 3; do
            port=$(free_port)
            if [ "$strategy" = bound ]; then
                python3 Benchmarks/python_farm_node.py "$port" --time-scale "$scale" --vram-gb 64 --max-loaded 8 --preload &
            else
                python3 Benchmarks/python_farm_node.py "$port" --time-scale "$scale" &
            fi
            pids+=($!)
            wait_for "http://127.0.0.1:$port/"
            if [ "$strategy" = bound ]; then limits='"vramGB": 64, "maxLoadedModels": 8'; else limits='"vramGB": 16, "maxLoadedModels": 3'; fi
            nodes+=("{ \"name\": \"gpu$index\", \"url\": \"http://127.0.0.1:$port\", \"maxParallel\": 2, $limits }")
        done
        port_tw=$(free_port)
        tw_strategy=$strategy; [ "$strategy" = bound ] && tw_strategy=affinity
        joined=$(IFS=,; echo "${nodes[*]}")
        cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $port_tw }, "strategy": "$tw_strategy",
  "apiKeys": [ { "name": "bench", "key": "gw_bench" } ],
  "health": { "intervalMs": $(python3 -c "print(max(50, int(2000 * $scale)))"), "timeoutMs": 1000 },
  "nodes": [ $joined ] }
JSON
        TENSORWALL_TIME_SCALE=$scale "$BIN/tensorwall" --config "$work/cluster.json" --log-level "${LOG_LEVEL:-info}" >"$work/$strategy-$load.log" 2>&1 &
        pids+=($!)
        wait_for "http://127.0.0.1:$port_tw/healthz"
        sleep "$(python3 -c "print(3 * $scale)")"  # the first probes
        row=$(python3 Benchmarks/python_farm.py "http://127.0.0.1:$port_tw" "$rate" --label "$strategy" "$@")
        totals=$(for node in "${nodes[@]}"; do
            url=$(echo "$node" | grep -o 'http://[0-9.:]*')
            curl -s "$url/bench/loads"
            echo
        done | python3 -c 'import json,sys; c=[json.loads(l) for l in sys.stdin if l.strip()]; print(" | ".join(str(sum(x[k] for x in c)) for k in ("loads", "evictions", "unloads_asked")))')
        echo "$row" | head -1 | sed "s/ |\$/ | $totals |/"
        echo "$row" | tail -n +2
        [ -n "${KEEP_LOGS:-}" ] && cp "$work/$strategy-$load.log" "$KEEP_LOGS/"
        stop_all
    done
done
