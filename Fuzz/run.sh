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

# The libraries are built as modules with the fuzzer's coverage and ASan, and each target imports
# them (@testable, for the parser's internals) as the tests do.
modules="$work/modules"
mkdir -p "$modules"
module() {  # name, sources...
    local name=$1; shift
    # -I Sources/CEpoll: the HTTP1 event loop imports <sys/epoll.h> through that module map.
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -enable-testing -package-name tensorwall -I Sources/CEpoll \
        -I "$modules" -L "$modules" -module-name "$name" -emit-module -emit-module-path "$modules/$name.swiftmodule" \
        -emit-library -static -o "$modules/lib$name.a" "$@" 2>&1 | grep -v warning || true
    [ -f "$modules/lib$name.a" ]
}

build() {  # name, entry file, modules to link...
    local name=$1 entry=$2; shift 2
    local links=()
    for linked in "$@"; do links+=("-l$linked"); done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name tensorwall -I Sources/CEpoll -I "$modules" -L "$modules" \
        -module-name "$name" "$entry" "${links[@]}" -o "$work/$name" 2>&1 | grep -v warning || true
    [ -x "$work/$name" ]
}

module WireFormats Sources/WireFormats/*.swift
module HTTP1 Sources/HTTP1/*.swift
module Balancer Sources/Balancer/*.swift
module APITranslation Sources/APITranslation/*.swift
build http_request Fuzz/HTTPRequestFuzz.swift HTTP1 WireFormats
build chat_translation Fuzz/ChatTranslationFuzz.swift APITranslation Balancer WireFormats
build stream_relay Fuzz/StreamRelayFuzz.swift APITranslation Balancer WireFormats
build multipart_form Fuzz/MultipartFormFuzz.swift WireFormats
build zstd_body Fuzz/ZstdBodyFuzz.swift WireFormats

status=0
for target in http_request chat_translation stream_relay multipart_form zstd_body; do
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
