#!/usr/bin/env bash
# SIGTERM and SIGINT stop tensorwall cleanly: a streamed answer in flight still completes, then the
# process exits 0 with no crash report. Usage: Tests/cli/check_signals.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product tensorwall >/dev/null && swift build -c release --product ollama-sim >/dev/null || exit 1
BIN=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
sim_pid=""
trap 'kill $sim_pid 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
sim_port=$(free_port)
# 20 tokens at 20 tokens/s: each answer streams for about a second.
"$BIN/ollama-sim" --port "$sim_port" --preload llama3.2 --tokens-per-second 20 --response-tokens 20 >/dev/null 2>&1 &
sim_pid=$!
failures=0

for signal in TERM INT; do
    port=$(free_port)
    printf '%s' "{\"listen\":{\"host\":\"127.0.0.1\",\"port\":$port},\"nodes\":[{\"name\":\"a\",\"url\":\"http://127.0.0.1:$sim_port\"}]}" >"$work/cluster.json"
    "$BIN/tensorwall" --config "$work/cluster.json" >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/status" | grep -q '"healthyNodes":1' && break; sleep 0.05; done
    curl -sN "http://127.0.0.1:$port/v1/chat/completions" \
        -d '{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}' >"$work/stream" &
    curl_pid=$!
    sleep 0.3
    kill -s "$signal" "$pid"
    wait "$pid"
    status=$?
    wait "$curl_pid"
    if [ "$status" = 0 ] && grep -q "shutting down" "$work/log" && ! grep -q "crashed" "$work/log" \
        && tail -c 20 "$work/stream" | grep -q "data: \[DONE\]"; then
        echo "ok   SIG$signal: the stream in flight completed, exit 0"
    else
        echo "FAIL SIG$signal: exit $status; stream ends with: $(tail -c 60 "$work/stream")"
        cat "$work/log"
        failures=$((failures + 1))
    fi
done
# SIGHUP: a valid new file takes effect (a new key works); an invalid one is refused and the old config keeps serving.
port=$(free_port)
config() { printf '%s' "{\"listen\":{\"host\":\"127.0.0.1\",\"port\":$port},\"apiKeys\":[$1],\"nodes\":[{\"name\":\"a\",\"url\":\"http://127.0.0.1:$sim_port\"}]}" >"$work/cluster.json"; }
config '{"name":"old","key":"gw_old"}'
"$BIN/tensorwall" --config "$work/cluster.json" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/status" | grep -q '"healthyNodes":1' && break; sleep 0.05; done
code() { curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $1" "http://127.0.0.1:$port/v1/models"; }
config '{"name":"new","key":"gw_new"}'
kill -HUP "$pid"
for _ in $(seq 100); do grep -q "reloaded" "$work/log" && break; sleep 0.05; done
after_valid="$(code gw_new) $(code gw_old)"
printf '{"nodes": [' >"$work/cluster.json"
kill -HUP "$pid"
for _ in $(seq 100); do grep -q "reload refused" "$work/log" && break; sleep 0.05; done
after_invalid="$(code gw_new)"
kill -TERM "$pid"; wait "$pid"
if [ "$after_valid" = "200 401" ] && [ "$after_invalid" = "200" ] && grep -q "reload refused" "$work/log"; then
    echo "ok   SIGHUP: a valid file is applied, an invalid one refused while the old config serves"
else
    echo "FAIL SIGHUP: after valid reload: $after_valid, after invalid: $after_invalid"; cat "$work/log"
    failures=$((failures + 1))
fi
echo "$((3 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
