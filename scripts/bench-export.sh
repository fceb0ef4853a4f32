#!/usr/bin/env bash
# Export benchmarks against a local redis-server on a free port:
#  1. the Redis write phase alone for 1,000,000 users (json and f32 values of 128 floats);
#  2. a full `lti export` (inference + write) of a trained model on synthetic data
#     (USERS/ROWS, default 20,000 users with short histories, small model).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
OUT=${BENCH_DIR:-/tmp/lti-bench}
mkdir -p "$OUT"
PORT=$(free_port)
start_redis "$OUT/export-redis" "$PORT"
trap 'kill $(cat "$OUT/export-redis/redis.pid")' EXIT

echo "== write phase, 1,000,000 users"
build/bench_redis_write "$PORT" 1000000 128 json
redis-cli -p "$PORT" flushall >/dev/null
build/bench_redis_write "$PORT" 1000000 128 f32
redis-cli -p "$PORT" flushall >/dev/null

echo "== lti export"
build/lti synth --users "${USERS:-20000}" --rows "${ROWS:-400000}" --items 100000 --categories 1000 -o "$OUT/export/train.csv"
build/lti --config configs/small.toml train --epochs 1 --max_steps 2 --data_path "$OUT/export" --save_dir "$OUT/export-model"
build/lti export --data_path "$OUT/export" --save_dir "$OUT/export-model" --redis "127.0.0.1:$PORT"
