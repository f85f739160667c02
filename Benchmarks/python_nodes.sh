#!/usr/bin/env bash
# TensorWall (release build) in front of two Ollama-like nodes written in Python
# (Benchmarks/python_ollama_node.py: one HTTP/1.0, one HTTP/1.1 with chunked streams), streamed
# chat completions sent through it with the `openai` package (Benchmarks/openai_streams.py), and
# the statuses TensorWall logged for them. Every stream is read to its end, so every request was
# served: a 499 in the log is a request counted as abandoned though its client had its answer.
# Usage: Benchmarks/python_nodes.sh [REQUESTS] [THREADS] [ROUNDS]
# (TENSORWALL_BIN=DIR runs the tensorwall in DIR instead of building one: an older build, say.)
set -euo pipefail
cd "$(dirname "$0")/.."
. Benchmarks/common.sh
if [ -n "${TENSORWALL_BIN:-}" ]; then BIN=$TENSORWALL_BIN; else build_release tensorwall; fi
requests=${1:-600}; threads=${2:-40}; rounds=${3:-3}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
port_a=$(free_port); port_b=$(free_port); port_tw=$(free_port)
python3 Benchmarks/python_ollama_node.py "$port_a" HTTP/1.0 2>/dev/null & pids+=($!)
python3 Benchmarks/python_ollama_node.py "$port_b" HTTP/1.1 2>/dev/null & pids+=($!)
wait_for "http://127.0.0.1:$port_a/"; wait_for "http://127.0.0.1:$port_b/"
cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $port_tw }, "apiKeys": [ { "name": "bench", "key": "gw_bench" } ],
  "health": { "intervalMs": 1000, "timeoutMs": 1000 },
  "nodes": [ { "name": "a", "url": "http://127.0.0.1:$port_a", "vramGB": 8, "maxLoadedModels": 3 },
             { "name": "b", "url": "http://127.0.0.1:$port_b", "vramGB": 8, "maxLoadedModels": 3 } ] }
JSON
"$BIN/tensorwall" --config "$work/cluster.json" >"$work/tensorwall.log" 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:$port_tw/healthz"
sleep 1.5  # the first probes
for round in $(seq 1 "$rounds"); do
    printf 'round %s: ' "$round"
    python3 Benchmarks/openai_streams.py "http://127.0.0.1:$port_tw" gw_bench "$requests" "$threads"
done
printf 'statuses TensorWall logged: '
grep -o ' info request .* status=[0-9]*' "$work/tensorwall.log" | grep -o 'status=[0-9]*' | sort | uniq -c | tr '\n' ' '
echo
