#!/usr/bin/env bash
# Starts two simulated Ollama nodes (one writing Python-style spaced JSON, one Go's compact bytes), a simulated OpenAI-compatible cloud, and TensorWall (release build) on free loopback ports, runs the
# Python client checks (openai, anthropic, ollama, prometheus_client, LangChain, LiteLLM, LlamaIndex, Haystack) against it, and stops everything. Usage: Tests/python/run_client_checks.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

. Tests/cli/sim_farm_helpers.sh

port_a=$(free_port); port_b=$(free_port); port_cloud=$(free_port); port_tw=$(free_port)
"$BIN/ollama-sim" --port "$port_a" --name a --model llama3.2=2.0 --model llava=4.7 --model coding-assistant=2.0 \
    --model nomic-embed-text=0.3 --registry phi3=2.2 --time-scale 0.01 --parallel 4 --encoding spaced >"$work/a.log" 2>&1 &
pids+=($!)
"$BIN/ollama-sim" --port "$port_b" --name b --model llama3.2=2.0 --time-scale 0.01 --parallel 4 --preload llama3.2 \
    --registry phi3=2.2 >"$work/b.log" 2>&1 &
pids+=($!)
# The cloud: a simulated node's own OpenAI-compatible API, as a cloud endpoint answers it.
"$BIN/ollama-sim" --port "$port_cloud" --name cloud --model gpt-4o=1.0 --time-scale 0.01 --parallel 4 --preload gpt-4o \
    >"$work/cloud.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port_a/"
wait_for "http://127.0.0.1:$port_b/"
wait_for "http://127.0.0.1:$port_cloud/"
cloud_key=sk-client-checks-cloud-secret

cat >"$work/cluster.json" <<JSON
{
  "listen": { "host": "127.0.0.1", "port": $port_tw },
  "apiKeys": [ { "name": "ci", "key": "gw_client_checks" } ],
  "health": { "intervalMs": 200, "timeoutMs": 500, "unhealthyAfter": 2, "healthyAfter": 1 },
  "routes": { "gpt-4": [ { "target": "ollama/llama3.2", "weight": 100, "priority": 0 } ], "cloud-chat": [ { "target": "openai/gpt-4o", "weight": 100, "priority": 0 } ] },
  "cloud": [ { "name": "openai", "url": "http://127.0.0.1:$port_cloud/v1", "apiKeyEnv": "CLIENT_CHECKS_CLOUD_KEY", "models": [], "priority": 1 } ],
  "nodes": [
    { "name": "a", "url": "http://127.0.0.1:$port_a", "maxParallel": 4 },
    { "name": "b", "url": "http://127.0.0.1:$port_b", "maxParallel": 4 }
  ]
}
JSON
CLIENT_CHECKS_CLOUD_KEY=$cloud_key "$BIN/tensorwall" --config "$work/cluster.json" >"$work/tensorwall.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$port_tw/healthz"

status=0
TENSORWALL_URL="http://127.0.0.1:$port_tw" TENSORWALL_KEY=gw_client_checks \
    python3 -m pytest -q Tests/python "$@" || status=$?

if grep -q "gw_client_checks" "$work/tensorwall.log"; then
    echo "FAIL: the gateway key appeared in the log" >&2
    status=1
fi
if grep -q "$cloud_key" "$work/tensorwall.log"; then
    echo "FAIL: the cloud endpoint's key appeared in the log" >&2
    status=1
fi
if ! grep -q "node=cloud:openai status=200" "$work/tensorwall.log"; then
    echo "FAIL: no request was served by the cloud endpoint" >&2
    status=1
fi
if [ "$status" != 0 ]; then
    echo "--- tensorwall log ---" >&2
    tail -50 "$work/tensorwall.log" >&2
fi
exit "$status"
