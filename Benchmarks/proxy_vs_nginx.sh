#!/usr/bin/env bash
# Small non-streaming chat requests straight to a fast simulated node, through TensorWall, and
# through nginx as a plain reverse proxy (upstream keep-alive) to the same node, in one run:
# requests/s at saturation (wrk), then p50/p99 at a fixed rate of half TensorWall's maximum
# and at a rate the machine sustains (SUSTAINED_RATE, default 3000; proxy-bench, open loop), with
# the CPU each proxy spent per request at those rates (the figure the neighbours do not move).
# Installs wrk and nginx with apt if missing.
# Usage: Benchmarks/proxy_vs_nginx.sh [seconds, default 10] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=${2:-32}
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk nginx >/dev/null
fi
source Benchmarks/common.sh
build_release tensorwall ollama-sim proxy-bench
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

node_port=$(free_port); tw_port=$(free_port); nginx_port=$(free_port)
"$BIN/ollama-sim" --port "$node_port" --model llama3.2=2.0 --parallel 100000 --time-scale 0 --response-tokens 4 \
    --preload llama3.2 >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$node_port/"
cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $tw_port },
  "apiKeys": [ { "name": "bench", "key": "gw_bench" } ],
  "health": { "intervalMs": 1000, "timeoutMs": 500 },
  "nodes": [ { "name": "sim", "url": "http://127.0.0.1:$node_port", "maxParallel": 4096 } ] }
JSON
"$BIN/tensorwall" --config "$work/cluster.json" --log-level warning >/dev/null 2>&1 &
tw_pid=$!
pids+=($tw_pid)
wait_for "http://127.0.0.1:$tw_port/healthz"
mkdir -p "$work/logs"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream ollama { server 127.0.0.1:$node_port; keepalive 128; }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://ollama;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGINX
nginx -p "$work" -c "$work/nginx.conf"
sleep 2  # TensorWall's first probe round

API='{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}],"stream":false}'
V1='{"model":"llama3.2","messages":[{"role":"user","content":"Hi"}]}'
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer gw_bench"\nwrk.body = %s\n' "'$API'" >"$work/api.lua"
printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer gw_bench"\nwrk.body = %s\n' "'$V1'" >"$work/v1.lua"

# User and system CPU ticks (utime + stime) the named proxy's processes have used so far: what a
# request costs it, whatever the neighbours on the two cores do to its throughput.
proxy_cpu_ticks() {
    local pids=""
    case $1 in
        tensorwall) pids=$tw_pid ;;
        nginx) pids="$(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')" ;;
    esac
    local total=0
    for pid in $pids; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
    echo "$total"
}
saturate() {  # port, path, script -> requests/s
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$3" "http://127.0.0.1:$1$2" 2>&1 | awk '/Requests\/sec/ {print $2}'
}
echo "$(date -u +%Y-%m-%d), $(nproc) cores; saturation: wrk -t2 -c$CONNECTIONS -d${DURATION}s; fixed rate: proxy-bench rate (open loop), ${DURATION}s"
echo
echo "| endpoint | path | requests/s at saturation | vs nginx |"
echo "|---|---|---|---|"
declare -A rps
for path in /api/chat /v1/chat/completions; do
    script=$work/api.lua; [ "$path" = /v1/chat/completions ] && script=$work/v1.lua
    for target in direct:$node_port nginx:$nginx_port tensorwall:$tw_port; do
        name=${target%%:*}; port=${target#*:}
        rps[$name$path]=$(saturate "$port" "$path" "$script")
    done
    for name in direct nginx tensorwall; do
        ratio=$(python3 -c "print(f'{${rps[$name$path]}/${rps[nginx$path]}:.2f}x')")
        echo "| $name | $path | ${rps[$name$path]} | $ratio |"
    done
done
echo
# Open-loop latency at half of TensorWall's maximum (what the issue asks), then at a rate this
# 2-core machine sustains with the load generator, node and proxy all sharing it.
half=$(python3 -c "print(int(${rps[tensorwall/api/chat]}/2))")
for rate in $half ${SUSTAINED_RATE:-3000}; do
    echo
    echo "Fixed rate: $rate requests/s, POST /api/chat, ${DURATION}s"
    echo
    echo "| endpoint | p50 (ms) | p99 (ms) | added p50 (ms) | added p99 (ms) | failures | proxy CPU per request (µs) |"
    echo "|---|---|---|---|---|---|---|"
    for target in direct:$node_port nginx:$nginx_port tensorwall:$tw_port; do
        name=${target%%:*}; port=${target#*:}
        before=$(proxy_cpu_ticks "$name")
        "$BIN/proxy-bench" rate "$port" /api/chat "$API" "$rate" "$DURATION" gw_bench >"$work/rate-$name.json"
        echo "$(( $(proxy_cpu_ticks "$name") - before ))" >"$work/cpu-$name"
        sleep 2  # let connections from an overloaded run drain
    done
    python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
import os
results = {name: json.load(open(f"{work}/rate-{name}.json")) for name in ("direct", "nginx", "tensorwall")}
base = results["direct"]
ticks_per_second = os.sysconf("SC_CLK_TCK")
for name, r in results.items():
    added50 = "" if name == "direct" else f"{r['p50_ms'] - base['p50_ms']:.3f}"
    added99 = "" if name == "direct" else f"{r['p99_ms'] - base['p99_ms']:.3f}"
    ticks = int(open(f"{work}/cpu-{name}").read())
    cpu = "" if name == "direct" else f"{ticks / ticks_per_second / r['requests'] * 1e6:.0f}"
    print(f"| {name} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {added50} | {added99} | {r['failures']} | {cpu} |")
PY
done
echo
echo "TensorWall resident memory after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$tw_pid/status)"
