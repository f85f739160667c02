# Sourced by the demo checks: builds tensorwall, starts `tensorwall demo` on a free port and sets
# BIN, work (a scratch folder), pid and url; cleans both up on exit. Usage: start_demo RATE SECONDS
swift build -c release --product tensorwall >/dev/null
BIN=$(swift build -c release --show-bin-path)/tensorwall
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $1" >&2; cat "$work/demo.out" >&2 2>/dev/null || true; exit 1; }

start_demo() {
    "$BIN" demo --port 0 --rate "$1" --duration "$2" >"$work/demo.out" 2>&1 &
    pid=$!
    url=
    for _ in $(seq 1 100); do
        url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/demo.out" | head -1 || true)
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || fail "the demo printed no URL"
}
