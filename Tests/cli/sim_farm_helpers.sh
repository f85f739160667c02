# Sourced by the checks that run TensorWall (release build) in front of simulated nodes on free
# loopback ports: builds both binaries and sets BIN and work (a scratch folder); `pids+=($!)` after
# starting a process stops it on exit. free_port prints a free port; wait_for URL waits until it
# answers (any status).
swift build -c release --product tensorwall >/dev/null
swift build -c release --product ollama-sim >/dev/null
BIN=$(swift build -c release --show-bin-path)

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_for() {
    for _ in $(seq 1 200); do
        if curl -s -o /dev/null "$1"; then return 0; fi
        sleep 0.05
    done
    echo "timed out waiting for $1" >&2
    return 1
}
