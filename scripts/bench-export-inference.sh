#!/usr/bin/env bash
# `lti export` inference side by side: the lti of an older commit (OLD, default fff1236, the
# last build on Debian's LibTorch 1.13, built beside this checkout as scripts/bench-train.sh
# does) and this checkout's build/lti, each in fp32 (the export default) and bf16, on the same
# data, the model of four blocks a tower that docs/performance.md's figures were taken with, a
# redis-server on a free loopback port. Each build exports a model it trained itself for one
# step (inference cost hardly depends on the weights: only through the experts the router
# picks). Prints inference users/s and peak RSS.
#   DATA_DIR=/tmp/lti-bench/quality/data-a1 scripts/bench-export-inference.sh
#   OLD_LTI=/path/to/old/lti scripts/bench-export-inference.sh   # the Tianchi preset by default
#   OLD_BLAS=1 scripts/bench-export-inference.sh   # also the old build with Debian's default
#                                                  # pthread OpenBLAS, which it was installed with
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
OUT=${BENCH_DIR:-/tmp/lti-bench}
OLD=${OLD:-$DEBIAN_TORCH_COMMIT}
DATA_DIR=${DATA_DIR:-$OUT/tianchi}
mkdir -p "$OUT" "$DATA_DIR"
[ -n "$(ls "$DATA_DIR"/*.csv 2>/dev/null)" ] || build/lti synth --preset tianchi -o "$DATA_DIR/train.csv"
OLD_LTI=${OLD_LTI:-$(old_lti "$OUT" "$OLD")}

PORT=$(free_port)
start_redis "$OUT/export-inference-redis" "$PORT"
trap 'kill $(cat "$OUT/export-inference-redis/redis.pid")' EXIT

echo "| build | inference | peak RSS |"
echo "|---|---|---|"
runs="old-fp32 new-fp32 old-bf16 new-bf16"
[ -n "${OLD_BLAS:-}" ] && runs="old-fp32 old-pthread-blas new-fp32 old-bf16 new-bf16"
for run in $runs; do
  blas_dir=""
  case $run in
    old-fp32) exe=$OLD_LTI flags="--precision fp32" ;;
    old-bf16) exe=$OLD_LTI flags="--precision bf16" ;;
    old-pthread-blas) exe=$OLD_LTI flags="" blas_dir=$PTHREAD_BLAS_DIR ;;
    new-fp32) exe=build/lti flags="--precision fp32" ;;
    new-bf16) exe=build/lti flags="--precision bf16" ;;
  esac
  model=$OUT/export-inference-model-${run%%-*}
  [ -d "$model" ] || "$exe" train --data_path "$DATA_DIR" --save_dir "$model" --epochs 1 \
    --max_steps 1 --batch_size 32 --val_fraction 0 --depth 4 >"$model.log" 2>&1
  log=$OUT/export-inference-$run.log
  # shellcheck disable=SC2086
  env ${blas_dir:+LD_LIBRARY_PATH=$blas_dir} /usr/bin/time -f "peak RSS %M KiB" "$exe" export \
    --data_path "$DATA_DIR" --save_dir "$model" --redis "127.0.0.1:$PORT" $flags >"$log" 2>&1 || { tail -5 "$log"; exit 1; }
  redis-cli -p "$PORT" flushall >/dev/null
  echo "| $run | $(grep -o 'inference [0-9.]* s ([0-9]* users/s)' "$log") |" \
    "$(awk '/peak RSS/ {printf "%.2f GiB", $3 / 1048576}' "$log") |"
done
