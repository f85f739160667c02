#!/usr/bin/env bash
# Times `ollama create`'s blob upload through TensorWall against the same upload sent straight to
# one node, and reads TensorWall's peak memory: the upload must reach every node as it arrives,
# never held whole. Nodes are Benchmarks/blob_sink.py (reads in 1 MiB pieces and checks the
# SHA-256, as Ollama does). Usage: Benchmarks/blob_upload.sh [MEGABYTES] [NODES]   (default 2048, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
megabytes=${1:-2048}
node_count=${2:-2}
. Tests/cli/sim_farm_helpers.sh

nodes_json=""
for index in $(seq 1 "$node_count"); do
    port=$(free_port)
    python3 Benchmarks/blob_sink.py "$port" &
    pids+=($!)
    wait_for "http://127.0.0.1:$port/"
    nodes_json+="${nodes_json:+,}{\"name\":\"n$index\",\"url\":\"http://127.0.0.1:$port\"}"
    [ "$index" = 1 ] && first_port=$port
done
port_tw=$(free_port)
cat >"$work/cluster.json" <<JSON
{ "listen": { "host": "127.0.0.1", "port": $port_tw }, "apiKeys": [ { "name": "bench", "key": "gw_bench" } ],
  "health": { "intervalMs": 1000, "timeoutMs": 1000 }, "nodes": [ $nodes_json ] }
JSON
"$BIN/tensorwall" --config "$work/cluster.json" >"$work/tensorwall.log" 2>&1 &
tensorwall=$!
pids+=($tensorwall)
wait_for "http://127.0.0.1:$port_tw/healthz"
sleep 2

# Two files of the size: one goes straight to a node, the other through TensorWall to every node.
head -c "${megabytes}M" /dev/urandom >"$work/direct.gguf"
head -c "${megabytes}M" /dev/urandom >"$work/model.gguf"
direct_digest="sha256:$(sha256sum "$work/direct.gguf" | cut -d' ' -f1)"
digest="sha256:$(sha256sum "$work/model.gguf" | cut -d' ' -f1)"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$tensorwall/status")

direct=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'Content-Type: application/octet-stream' -H 'Expect:' \
    -X POST -T "$work/direct.gguf" "http://127.0.0.1:$first_port/api/blobs/$direct_digest")
cpu_before=$(awk '{print $14 " " $15}' "/proc/$tensorwall/stat")
through=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H 'X-API-Key: gw_bench' -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' -X POST -T "$work/model.gguf" "http://127.0.0.1:$port_tw/api/blobs/$digest")
cpu_after=$(awk '{print $14 " " $15}' "/proc/$tensorwall/stat")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$tensorwall/status")

echo "upload of $megabytes MB, $node_count nodes"
echo "straight to one node: status ${direct% *}, ${direct#* } s"
echo "through TensorWall to every node: status ${through% *}, ${through#* } s"
read -r user_before system_before <<<"$cpu_before"
read -r user_after system_after <<<"$cpu_after"
echo "TensorWall CPU for the upload: $(( (user_after - user_before) * 10 )) ms user, $(( (system_after - system_before) * 10 )) ms system"
echo "TensorWall memory: $((rss_before / 1024)) MB before, peak $((peak / 1024)) MB"
