#!/usr/bin/env bash
# The demo as a new user meets it: `tensorwall demo` starts a simulated farm with traffic, the
# status page shows requests served and models loaded within seconds, `tensorwall top --once`
# shows the same nodes, and Ctrl-C (SIGINT) stops everything with exit status 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
. Tests/cli/demo_helpers.sh
start_demo 3 120
grep -q "curl $url/v1/chat/completions" "$work/demo.out" || fail "no ready curl example"
grep -q "from openai import OpenAI" "$work/demo.out" || fail "no openai example"

# Within a minute the farm is busy: requests served, models loaded.
served=0
for _ in $(seq 1 60); do
    sleep 1
    status=$(curl -sf -H 'Accept: application/json' "$url/status") || continue
    served=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(u["requests"] for u in d["usage"]))' <<<"$status")
    loaded=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(len(n["loadedModels"]) for n in d["nodes"]))' <<<"$status")
    [ "$served" -ge 5 ] && [ "$loaded" -ge 2 ] && break
done
[ "$served" -ge 5 ] || fail "after a minute the demo had served $served requests"

# The live view sees the same farm.
"$BIN" top --url "$url" --key gw_demo_key --once >"$work/top.out" || fail "top --once failed: $(cat "$work/top.out")"
for node in gpu-small gpu-medium gpu-large; do grep -q "^$node " "$work/top.out" || fail "top does not show $node"; done
grep -q "nodes 3/3 healthy" "$work/top.out" || fail "top does not show 3/3 healthy nodes"

kill -INT "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "Ctrl-C ended the demo with status $status"
echo "demo: served $served requests within a minute, top matched, Ctrl-C exited 0"
