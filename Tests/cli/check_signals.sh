#!/usr/bin/env bash
# SIGTERM and SIGINT stop tensorwall cleanly: exit status 0, a log line, no crash report.
# Usage: Tests/cli/check_signals.sh [path-to-tensorwall]
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-$(swift build -c release --show-bin-path)/tensorwall}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
printf '%s' '{"listen":{"host":"127.0.0.1","port":0},"nodes":[{"name":"a","url":"http://127.0.0.1:9"}]}' >"$work/cluster.json"

for signal in TERM INT; do
    "$BIN" --config "$work/cluster.json" >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$work/log" && break; sleep 0.05; done
    kill -s "$signal" "$pid"
    wait "$pid"
    status=$?
    if [ "$status" = 0 ] && grep -q "shutting down" "$work/log" && ! grep -q "crashed" "$work/log"; then
        echo "ok   SIG$signal: exit 0"
    else
        echo "FAIL SIG$signal: exit $status"; cat "$work/log"
        failures=$((failures + 1))
    fi
done
echo "$((2 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
