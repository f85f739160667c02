#!/usr/bin/env bash
# A bad cluster.json must be refused with one line naming the field and exit status 2, before
# anything listens. Usage: Tests/cli/check_config_errors.sh [path-to-tensorwall]
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-$(swift build -c release --show-bin-path)/tensorwall}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect_refusal() {  # name, json, expected text
    printf '%s' "$2" >"$work/$1.json"
    output=$("$BIN" --config "$work/$1.json" --port 0 2>&1)
    status=$?
    lines=$(printf '%s\n' "$output" | wc -l)
    if [ "$status" != 2 ] || ! grep -qF -- "$3" <<<"$output" || [ "$lines" != 1 ]; then
        echo "FAIL $1: status $status, output: $output"
        failures=$((failures + 1))
    else
        echo "ok   $1: $output"
    fi
}

expect_refusal unknown-key '{"nodes":[{"name":"a","url":"http://127.0.0.1:1"}],"nodez":[]}' 'nodez: unknown key'
expect_refusal bad-url '{"nodes":[{"name":"a","url":"localhost:11434"}]}' 'nodes[0].url'
expect_refusal duplicate-name '{"nodes":[{"name":"a","url":"http://a:1"},{"name":"a","url":"http://b:1"}]}' 'nodes[1].name: duplicate node name'
expect_refusal negative-weight '{"nodes":[{"name":"a","url":"http://a:1","weight":-5}]}' 'nodes[0].weight: must be at least 0'
expect_refusal not-json '{"nodes": [' 'invalid JSON'
expect_refusal bad-usage-log '{"usageLog":"/nonexistent-dir/x.jsonl","nodes":[{"name":"a","url":"http://a:1"}]}' 'usageLog: cannot open'
expect_refusal no-nodes '{"nodes":[]}' 'nodes: at least one node is required'

output=$("$BIN" --config "$work/missing.json" 2>&1); status=$?
[ "$status" = 2 ] && echo "ok   missing file: $output" || { echo "FAIL missing file: $status $output"; failures=$((failures + 1)); }
output=$("$BIN" --bogus 2>&1); status=$?
[ "$status" = 2 ] && echo "ok   unknown flag: $output" || { echo "FAIL unknown flag: $status $output"; failures=$((failures + 1)); }
OLLAMA_API_URL=not-a-url "$BIN" check-config cluster.json >/dev/null 2>&1; status=$?
[ "$status" = 2 ] && echo "ok   bad OLLAMA_API_URL refused" || { echo "FAIL bad OLLAMA_API_URL: $status"; failures=$((failures + 1)); }
"$BIN" check-config cluster.json >/dev/null || { echo "FAIL shipped cluster.json"; failures=$((failures + 1)); }

expected=$(printf 'gw_some_key' | sha256sum | cut -d' ' -f1)
[ "$(echo gw_some_key | "$BIN" hash-key)" = "$expected" ] && echo "ok   hash-key prints the SHA-256" || { echo "FAIL hash-key"; failures=$((failures + 1)); }

echo "$((12 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
