#!/usr/bin/env bash
# Soak test (see Benchmarks/soak.py): mixed traffic while nodes are killed, hung, made to fail and
# restarted; reports sent / succeeded / failed cleanly / lost (must be 0) and TensorWall's memory
# and descriptors. Usage: Benchmarks/soak.sh [seconds, default 600]   (CI runs 30)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product tensorwall >/dev/null
swift build -c release --product ollama-sim >/dev/null
exec python3 Benchmarks/soak.py "$(swift build -c release --show-bin-path)" "${1:-600}"
