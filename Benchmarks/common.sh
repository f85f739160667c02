# Helpers shared by the benchmark scripts (sourced, not run).

# A free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Waits (up to 4 s) until URL answers 2xx.
wait_for() { for _ in $(seq 1 400); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.01; done; return 1; }

# Builds the given products in release mode and sets BIN to their directory.
build_release() {
    for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
    BIN=$(swift build -c release --show-bin-path)
}
