#!/usr/bin/env bash
# Requests/s and latency of small non-streaming chat requests: straight to a fast simulated node,
# and through TensorWall in front of the same node. Prints a markdown table.
# Usage: Benchmarks/proxy_overhead.sh [duration-seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

swift build -c release --product tensorwall >/dev/null
swift build -c release --product ollama-sim >/dev/null
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

node_port=$(free_port); tw_port=$(free_port)
# A node that answers at once: no load time, one short answer, time scaled to zero.
"$BIN/ollama-sim" --port "$node_port" --model llama3.2=2.0 --parallel 100000 --time-scale 0 --response-tokens 4 \
    --preload llama3.2 >"$work/node.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$node_port/"
cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $tw_port },
  "apiKeys": [ { "name": "bench", "key": "gw_bench" } ],
  "health": { "intervalMs": 1000, "timeoutMs": 500 },
  "nodes": [ { "name": "sim", "url": "http://127.0.0.1:$node_port", "maxParallel": 4096 } ] }
JSON
"$BIN/tensorwall" --config "$work/cluster.json" --log-level warning >"$work/tw.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$tw_port/healthz"

cat >"$work/api_chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"stream":false}'
LUA
cat >"$work/v1_chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer gw_bench"
wrk.body = '{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}]}'
LUA

run() {  # label, url, script
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$3" "$2" >"$work/out" 2>&1
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
    p50=$(awk '$1=="50%" {print $2}' "$work/out")
    p99=$(awk '$1=="99%" {print $2}' "$work/out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/out" | tr '\n' ' ')
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "${errors:-none}"
}

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| path | requests/s | p50 | p99 | errors |"
echo "|---|---|---|---|---|"
run "node direct, POST /api/chat" "http://127.0.0.1:$node_port/api/chat" "$work/api_chat.lua"
run "TensorWall, POST /v1/chat/completions (translated to /api/chat)" "http://127.0.0.1:$tw_port/v1/chat/completions" "$work/v1_chat.lua"
echo
echo "TensorWall resident memory after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/"${pids[1]}"/status)"
