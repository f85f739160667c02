#!/usr/bin/env bash
# Streaming fan-out: N concurrent /api/chat streams of tokens at a steady rate (10 tokens/s, 50
# tokens each) straight from a simulated node and through TensorWall. Added delay per token =
# (arrival time - the node's created_at stamp on the chunk) through TensorWall minus the same
# straight to the node. Also TensorWall's peak resident memory, idle memory, and start-up time.
# Usage: Benchmarks/streams.sh [stream counts, default "100 1000 2000"]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${1:-100 1000 2000}
ulimit -n 65536 2>/dev/null || true
source Benchmarks/common.sh
build_release tensorwall ollama-sim proxy-bench
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

node_port=$(free_port); tw_port=$(free_port)
"$BIN/ollama-sim" --port "$node_port" --model llama3.2=2.0 --parallel 100000 --time-scale 1 --load-base-seconds 0 \
    --load-seconds-per-gb 0 --tokens-per-second 10 --response-tokens 50 --preload llama3.2 >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$node_port/"
cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $tw_port },
  "health": { "intervalMs": 1000, "timeoutMs": 1000 },
  "limits": { "maxConnections": 60000 },
  "nodes": [ { "name": "sim", "url": "http://127.0.0.1:$node_port", "maxParallel": 4096 } ] }
JSON
started=$(date +%s.%N)
"$BIN/tensorwall" --config "$work/cluster.json" --log-level warning >/dev/null 2>&1 &
tw_pid=$!
pids+=($tw_pid)
wait_for "http://127.0.0.1:$tw_port/healthz"
ready=$(date +%s.%N)
sleep 2
idle=$(rss $tw_pid)

echo "$(date -u +%Y-%m-%d), $(nproc) cores; streams of 50 tokens at 10 tokens/s, starts spread over 1 s"
echo
echo "| streams | failed | tokens | direct p50 / p99 (ms) | through TensorWall p50 / p99 (ms) | added p50 (ms) | added p99 (ms) | TensorWall peak RSS (MB) |"
echo "|---|---|---|---|---|---|---|---|"
for count in $COUNTS; do
    "$BIN/proxy-bench" streams "$node_port" "$count" llama3.2 >"$work/direct.json"
    peak=0
    "$BIN/proxy-bench" streams "$tw_port" "$count" llama3.2 >"$work/through.json" &
    bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        now=$(rss $tw_pid); [ "$now" -gt "$peak" ] && peak=$now
        sleep 0.2
    done
    wait "$bench"
    python3 - "$work" "$count" "$peak" <<'PY'
import json, sys
work, count, peak = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = json.load(open(f"{work}/direct.json")); t = json.load(open(f"{work}/through.json"))
print(f"| {count} | {t['failed_streams']} | {t['tokens']} | {d['p50_ms']:.2f} / {d['p99_ms']:.2f} | {t['p50_ms']:.2f} / {t['p99_ms']:.2f} | "
      f"{t['p50_ms'] - d['p50_ms']:.2f} | {t['p99_ms'] - d['p99_ms']:.2f} | {peak / 1024:.1f} |")
PY
done
echo
python3 -c "print(f'Start-up until /healthz answers: {($ready - $started) * 1000:.0f} ms; idle resident memory: {$idle / 1024:.1f} MB')"

# The production build (README: --static-swift-stdlib) links only the runtime code it uses, so it
# maps fewer library pages; its idle memory is what a deployment sees. Needs libcurl's headers.
if ! dpkg -s libcurl4-openssl-dev >/dev/null 2>&1; then apt-get install -y -qq libcurl4-openssl-dev >/dev/null; fi
swift build -c release --product tensorwall --static-swift-stdlib --scratch-path .build/static >/dev/null
static_port=$(free_port)
sed "s/\"port\": $tw_port/\"port\": $static_port/" "$work/cluster.json" >"$work/static.json"
started=$(date +%s.%N)
.build/static/release/tensorwall --config "$work/static.json" --log-level warning >/dev/null 2>&1 &
static_pid=$!
pids+=($static_pid)
wait_for "http://127.0.0.1:$static_port/healthz"
ready=$(date +%s.%N)
sleep 2
python3 -c "print(f'Static build (--static-swift-stdlib): start-up {($ready - $started) * 1000:.0f} ms; idle resident memory: {$(rss $static_pid) / 1024:.1f} MB')"
