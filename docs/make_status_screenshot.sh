#!/usr/bin/env bash
# Renders the status page of a running farm to docs/status-page.png with headless Chromium
# (Debian's `chromium`): three simulated nodes, some traffic, a cold load under way.
# Usage: docs/make_status_screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
swift build -c release --product tensorwall >/dev/null
swift build -c release --product ollama-sim >/dev/null
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ports=()
for name in gpu-a gpu-b gpu-c; do
    port=$(free_port); ports+=("$port")
    "$BIN/ollama-sim" --port "$port" --name "$name" --model llama3.2=2.0 --model qwen2.5:7b=4.7 --model llava=4.7 \
        --model nomic-embed-text=0.3 --parallel 4 --time-scale 0.2 --tokens-per-second 30 --response-tokens 40 >/dev/null 2>&1 &
    pids+=($!)
done
port_tw=$(free_port)
cat >"$work/cluster.json" <<JSON
{
  "listen": { "host": "127.0.0.1", "port": $port_tw },
  "apiKeys": [ { "name": "web-team", "key": "gw_web" }, { "name": "batch", "key": "gw_batch" } ],
  "health": { "intervalMs": 500, "timeoutMs": 500 },
  "warm": { "llama3.2": 2 },
  "nodes": [
    { "name": "gpu-a", "url": "http://127.0.0.1:${ports[0]}", "maxParallel": 4, "vramGB": 12 },
    { "name": "gpu-b", "url": "http://127.0.0.1:${ports[1]}", "maxParallel": 4, "vramGB": 12 },
    { "name": "gpu-c", "url": "http://127.0.0.1:${ports[2]}", "maxParallel": 4, "vramGB": 24, "priority": 1 }
  ]
}
JSON
"$BIN/tensorwall" --config "$work/cluster.json" --log-level warning &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port_tw/healthz" >/dev/null && break; sleep 0.1; done
sleep 3  # warm list loads llama3.2 on two nodes

chat() { curl -s -o /dev/null -H "X-API-Key: $1" "http://127.0.0.1:$port_tw/v1/chat/completions" \
    -d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"$3\"}]}"; }
jobs=()
for i in $(seq 8); do chat gw_web llama3.2 "question $i" & jobs+=($!); done
for job in "${jobs[@]}"; do wait "$job" || true; done
chat gw_batch qwen2.5:7b "summarise" &
curl -s -o /dev/null -H "X-API-Key: gw_batch" "http://127.0.0.1:$port_tw/api/embed" -d '{"model":"nomic-embed-text","input":"hello"}'
chat gw_web nonexistent "x"
for i in $(seq 6); do chat gw_web llama3.2 "follow-up $i" & done
sleep 1
chat gw_batch llava "describe" &   # a cold load, still under way when the page is drawn
sleep 0.5
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1100 --virtual-time-budget=4000 \
    --screenshot="$PWD/docs/status-page.png" "http://127.0.0.1:$port_tw/dashboard" 2>/dev/null
echo "wrote docs/status-page.png"
