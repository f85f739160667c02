#!/usr/bin/env bash
# Builds the libFuzzer targets (swiftc -sanitize=fuzzer,address) and runs each for a bounded time
# on its committed seed corpus. Usage: Fuzz/run.sh [seconds-per-target, default 60]
# Exit status 1 and the crashing input under Fuzz/findings/ when a target finds a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p Fuzz/findings

# One module per target: the library sources with their cross-module imports removed.
stage() {  # target, sources...
    local dir="$work/$1"; shift
    mkdir -p "$dir"
    for file in "$@"; do sed -e '/^import Balancer$/d' -e '/^import HTTP1$/d' -e '/^import Health$/d' "$file" >"$dir/$(basename "$file")"; done
    echo "$dir"
}

build() {  # name, staged directory, entry file
    # -I Sources/CEpoll: the HTTP1 event loop imports <sys/epoll.h> through that module map.
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -I Sources/CEpoll -module-name "$1" "$2"/*.swift "$3" -o "$work/$1" 2>&1 \
        | grep -v warning || true
    [ -x "$work/$1" ]
}

http_dir=$(stage http Sources/HTTP1/*.swift)
build http_request "$http_dir" Fuzz/HTTPRequestFuzz.swift
chat_dir=$(stage chat Sources/Balancer/*.swift Sources/Proxy/ChatRequestTranslation.swift Sources/Proxy/ChatResponseTranslation.swift \
    Sources/Proxy/APIError.swift Sources/Proxy/ConversationKeys.swift Sources/Proxy/AnswerTranslator.swift \
    Sources/Proxy/TextCompletionTranslation.swift)
build chat_translation "$chat_dir" Fuzz/ChatTranslationFuzz.swift
relay_dir=$(stage relay Sources/Balancer/*.swift Sources/Proxy/ChatResponseTranslation.swift Sources/Proxy/APIError.swift \
    Sources/Proxy/JSONStreamSplitter.swift Sources/Proxy/StreamChunkFacts.swift)
build stream_relay "$relay_dir" Fuzz/StreamRelayFuzz.swift

status=0
for target in http_request chat_translation stream_relay; do
    mkdir -p "$work/corpus-$target"
    cp Fuzz/corpus/$target/* "$work/corpus-$target/"
    echo "== $target: ${seconds}s on $(ls Fuzz/corpus/$target | wc -l) seed inputs"
    if ! "$work/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="Fuzz/findings/$target-" \
        -print_final_stats=1 "$work/corpus-$target" 2>"$work/$target.log"; then
        status=1
        echo "FINDING in $target:"; tail -40 "$work/$target.log"
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov: " "$work/$target.log" | tail -3
done
[ "$status" = 0 ] && echo "no findings"
exit "$status"
