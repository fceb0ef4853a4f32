#!/usr/bin/env bash
# Redis write phase into one redis-server vs a 3-master Redis Cluster on this machine, the same
# USERS (default 1,000,000) x 128 floats, JSON and f32. Servers on free loopback ports, no
# persistence, stopped at the end. REPLICAS=1 gives every master a replica (as in the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
OUT=${BENCH_DIR:-/tmp/lti-bench}/cluster
USERS=${USERS:-1000000}
REPLICAS=${REPLICAS:-0}
rm -rf "$OUT" && mkdir -p "$OUT"
trap 'for p in "$OUT"/*/redis.pid; do kill "$(cat "$p")" 2>/dev/null || true; done' EXIT

SINGLE=$(free_port)
start_redis "$OUT/single" "$SINGLE"
NODES=()
for i in $(seq $((3 * (1 + REPLICAS)))); do
  PORT=$(free_port)
  start_redis "$OUT/node$i" "$PORT" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-port "$(free_port)"
  NODES+=("127.0.0.1:$PORT")
done
redis-cli --cluster create "${NODES[@]}" --cluster-replicas "$REPLICAS" --cluster-yes >/dev/null
for _ in $(seq 100); do
  redis-cli -p "${NODES[0]#*:}" cluster info | grep -q cluster_state:ok && break; sleep 0.1
done

for FORMAT in json f32; do
  echo "== $FORMAT, $USERS users"
  build/bench_redis_write "$SINGLE" "$USERS" 128 "$FORMAT"
  build/bench_redis_write "${NODES[0]}" "$USERS" 128 "$FORMAT"
  redis-cli -p "$SINGLE" flushall >/dev/null
  for n in "${NODES[@]}"; do redis-cli -p "${n#*:}" flushall >/dev/null 2>&1 || true; done
done
